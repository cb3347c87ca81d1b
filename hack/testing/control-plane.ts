// A real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) for tests,
// started by the same scripts as `make cluster-up` (hack/cluster/up.sh and down.sh) with its own
// state dir and its own free ports, so it never touches a developer's cluster; and, for the
// end-to-end tests, with a node (hack/cluster/node-up.sh), which is one per machine.
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../gateway/testing/ports.ts";
import { processRuns } from "./cluster.ts";

export const repoRoot: string = resolve(import.meta.dirname, "../..");
const upScript = join(repoRoot, "hack/cluster/up.sh");
const nodeUpScript = join(repoRoot, "hack/cluster/node-up.sh");
const downScript = join(repoRoot, "hack/cluster/down.sh");
/** Held (flock) by whoever runs a test node on this machine: test runs take turns. */
const NODE_LOCK = "/run/lock/postern-node.lock";

export interface ControlPlanePorts {
  apiserver: number;
  etcd: number;
  etcdPeer: number;
  controllerManager: number;
}

export interface ControlPlane {
  /** State dir: certificates, etcd data, logs (`<component>.log`), pid files. */
  dir: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfig: string;
  /** https://<address>:<port>: 127.0.0.1, or with a node its bridge's address. */
  server: string;
  ports: ControlPlanePorts;
  /** The environment the hack/cluster scripts ran with (POSTERN_CLUSTER_DIR, the ports, ...). */
  env: NodeJS.ProcessEnv;
  /** Stops the processes and removes the state dir. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops kube-apiserver (SIGTERM, SIGKILL 5 s later if it still runs), stays down for
   * `downMs`, then runs up.sh again: same ports, certificates and etcd data (up.sh restarts the
   * other components too). Resolves when the API server is ready again.
   */
  restartApiServer(downMs?: number): Promise<void>;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(
      "bash",
      [script],
      { env, cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 5 * 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolveRun({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

export interface StartOptions {
  /** Passed on as POSTERN_CLUSTER_OWNER_PID: the control plane is torn down when this process exits,
   *  even if stop() never runs. Default: this process. */
  ownerPid?: number;
  /** Seconds up.sh waits for readiness (POSTERN_CLUSTER_TIMEOUT). Default 120. */
  timeoutSeconds?: number;
  /** A node too: containerd, kubelet, kube-proxy and kube-scheduler (hack/cluster/node-up.sh). */
  node?: boolean;
}

/**
 * Takes this machine's node lock, waiting while another test run holds it; it is released by the
 * returned function, or when this process exits (flock's holder then sees its stdin close).
 */
async function takeNodeLock(): Promise<() => void> {
  await mkdir(dirname(NODE_LOCK), { recursive: true });
  const holder = spawn("flock", [NODE_LOCK, "-c", "echo locked; exec cat >/dev/null"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting = setTimeout(
    () => process.stderr.write(`waiting for ${NODE_LOCK}: another test run has the node\n`),
    2000,
  );
  const [line] = (await once(holder.stdout, "data")) as [Buffer];
  clearTimeout(waiting);
  if (!line.toString().startsWith("locked")) throw new Error(`flock ${NODE_LOCK}: ${line}`);
  return () => holder.stdin.end();
}

/**
 * Starts a control plane in `dir` (default: a new directory under the OS temp dir) on free ports.
 * Needs the binaries from `make tools` in hack/tools/bin.
 */
export async function startControlPlane(dir?: string, options: StartOptions = {}): Promise<ControlPlane> {
  const releaseNode = options.node ? await takeNodeLock() : () => {};
  const script = options.node ? nodeUpScript : upScript;
  const stateDir = dir ?? (await mkdtemp(join(tmpdir(), "postern-test-cluster-")));
  const [apiserver, etcd, etcdPeer, controllerManager] = await distinctFreePorts(4);
  if (
    apiserver === undefined ||
    etcd === undefined ||
    etcdPeer === undefined ||
    controllerManager === undefined
  ) {
    throw new Error("could not find free ports");
  }
  const ports: ControlPlanePorts = { apiserver, etcd, etcdPeer, controllerManager };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POSTERN_CLUSTER_DIR: stateDir,
    POSTERN_APISERVER_PORT: String(apiserver),
    POSTERN_ETCD_PORT: String(etcd),
    POSTERN_ETCD_PEER_PORT: String(etcdPeer),
    POSTERN_KCM_PORT: String(controllerManager),
    POSTERN_CLUSTER_OWNER_PID: String(options.ownerPid ?? process.pid),
    POSTERN_CLUSTER_TIMEOUT: String(options.timeoutSeconds ?? 120),
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= runScript(downScript, env).then(({ code, output }) => {
      releaseNode();
      if (code !== 0) throw new Error(`hack/cluster/down.sh failed (exit ${code}):\n${output}`);
    });
    return stopped;
  };

  const up = await runScript(script, env);
  if (up.code !== 0) {
    await stop().catch(() => {});
    throw new Error(`${script} failed (exit ${up.code}):\n${up.output}`);
  }
  const address = /^POSTERN_APISERVER_ADDRESS=(.*)$/m.exec(
    await readFile(join(stateDir, "ports.env"), "utf8"),
  );

  const restartApiServer = async (downMs = 0): Promise<void> => {
    const pid = Number((await readFile(join(stateDir, "kube-apiserver.pid"), "utf8")).trim());
    if (Number.isInteger(pid) && pid > 0 && processRuns(pid)) {
      // Its graceful shutdown can hang for minutes on this build; like down.sh, SIGKILL after a while.
      process.kill(pid, "SIGTERM");
      for (let waited = 0; processRuns(pid); waited += 50) {
        if (waited === 5_000) process.kill(pid, "SIGKILL");
        if (waited > 20_000) throw new Error(`kube-apiserver (pid ${pid}) did not exit`);
        await sleep(50);
      }
    }
    await sleep(downMs);
    const again = await runScript(script, env);
    if (again.code !== 0)
      throw new Error(`${script} (restart) failed (exit ${again.code}):\n${again.output}`);
  };

  return {
    dir: stateDir,
    kubeconfig: join(stateDir, "kubeconfig"),
    server: `https://${address?.[1] ?? "127.0.0.1"}:${apiserver}`,
    ports,
    env,
    stop,
    restartApiServer,
  };
}
