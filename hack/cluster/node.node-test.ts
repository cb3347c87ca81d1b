// The node of `make cluster-up` (hack/cluster/node-up.sh, node-down.sh) against the machine: it runs
// real pods that reach the API server through the `kubernetes` Service, it leaves the host's sysctls
// alone while it runs, both scripts are idempotent, and once it is down nothing of it is left: no
// process, mount, network link, nftables rule or table, cgroup, file, or changed sysctl.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { repoRoot, startControlPlane } from "../testing/control-plane.ts";

const exec = promisify(execFile);

// Counters and other values the kernel changes on its own.
const VOLATILE_SYSCTL =
  /^(fs\.(dentry-state|inode-nr|inode-state|file-nr|quota\.)|kernel\.(ns_last_pid|random\.|pty\.nr|sched_domain)|net\.netfilter\.nf_conntrack_count|vm\.(nr_|stat_))/;

/** Every sysctl but the volatile ones, and none of the per-interface ones of `links`. */
async function sysctls(links: string[] = []): Promise<string[]> {
  const { stdout } = await exec("sysctl", ["-a"], { maxBuffer: 16 * 1024 * 1024 });
  const perLink = new RegExp(`^net\\.(ipv4|ipv6)\\.(conf|neigh)\\.(${links.join("|") || "-"})\\.`);
  return stdout
    .split("\n")
    .filter((l) => l !== "" && !VOLATILE_SYSCTL.test(l) && !perLink.test(l.replace(/\//g, ".")))
    .sort();
}

/** Mount points, without those other test suites make on their own (operator/testing/netns.ts). */
function mounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((m) => m !== "" && !m.startsWith("/run/netns/postern-t-"))
    .sort();
}

function cgroups(): string[] {
  return readdirSync("/sys/fs/cgroup", { recursive: true, encoding: "utf8" })
    .filter((p) => /(^|\/)(kubepods|k8s\.io)/.test(p))
    .sort();
}

/** Processes of the node: its programs, and anything naming the state dir. */
function nodeProcesses(stateDir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue; // gone meanwhile
    }
    const program = cmdline.split(" ")[0]?.split("/").pop() ?? "";
    if (/^(kubelet|kube-proxy|kube-scheduler|containerd|containerd-shim.*|pause)$/.test(program)) {
      found.push(`${pid} ${cmdline}`);
    } else if (cmdline.includes(stateDir)) found.push(`${pid} ${cmdline}`);
  }
  return found;
}

/** Everything inside a directory the node may write to, so a leftover is caught even where the
 * directory itself was there before (libcni's cache of results, say). */
function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .map((entry) => join(path, entry))
    .sort();
}

async function machine() {
  const links = (await exec("ip", ["-o", "link", "show"])).stdout
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter((l) => l !== "")
    .sort();
  return {
    links,
    nftables: (await exec("nft", ["list", "ruleset"])).stdout,
    mounts: mounts(),
    cgroups: cgroups(),
    files: [
      "/var/lib/kubelet",
      "/run/containerd",
      "/run/postern-node",
      "/var/lib/cni",
      "/var/log/pods",
    ].flatMap((path) => (existsSync(path) ? [path, ...filesUnder(path)] : [])),
    sysctls: await sysctls(),
  };
}

test("the node comes up, runs pods, keeps the host's sysctls, and leaves nothing behind", async (t) => {
  const before = await machine();
  const started = performance.now();
  const plane = await startControlPlane(undefined, { node: true });
  t.after(() => plane.stop());
  const upSeconds = (performance.now() - started) / 1000;
  process.stderr.write(`node: control plane + node Ready in ${upSeconds.toFixed(1)} s\n`);
  const kubectl = (...args: string[]) =>
    exec(join(repoRoot, "hack/tools/bin/kubectl"), ["--kubeconfig", plane.kubeconfig, ...args]);

  await t.test("node-up.sh again finds it healthy and changes nothing", async () => {
    const { stderr } = await exec("bash", [join(repoRoot, "hack/cluster/node-up.sh")], { env: plane.env });
    assert.match(stderr, /node \S+ already up/);
  });

  await t.test("the API server is the `kubernetes` Service's endpoint, on the node's address", async () => {
    const { stdout } = await kubectl(
      "get",
      "endpointslices",
      "-n",
      "default",
      "-l",
      "kubernetes.io/service-name=kubernetes",
      "-o",
      "jsonpath={.items[*].endpoints[*].addresses[*]} {.items[*].ports[*].port}",
    );
    assert.equal(stdout, `10.244.0.1 ${plane.ports.apiserver}`);
    assert.equal(new URL(plane.server).hostname, "10.244.0.1");
  });

  await t.test("a pod runs, with no sysctl of the host changed", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "sleeper", namespace: "default" },
      spec: {
        containers: [
          {
            name: "pause",
            image: "localhost/postern/pause:1",
            imagePullPolicy: "Never",
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          },
        ],
        securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: "RuntimeDefault" } },
      },
    };
    const applied = exec(join(repoRoot, "hack/tools/bin/kubectl"), [
      "--kubeconfig",
      plane.kubeconfig,
      "apply",
      "-f",
      "-",
    ]);
    applied.child.stdin?.end(JSON.stringify(pod));
    await applied;
    await kubectl("wait", "--for=condition=Ready", "pod/sleeper", "--timeout=60s");
    const { stdout } = await kubectl("get", "pod", "sleeper", "-o", "jsonpath={.status.podIP}");
    assert.match(stdout, /^10\.244\.0\.\d+$/);
    // The node's own links (the bridge, the pod's veth) come with sysctls of their own; nothing else.
    const now = await machine();
    const added = now.links.filter((l) => !before.links.includes(l));
    assert.deepEqual(await sysctls(added), before.sysctls);
  });

  await t.test("node-down.sh takes everything away, and again does nothing", async () => {
    const stopped = performance.now();
    await plane.stop();
    process.stderr.write(`node: down in ${((performance.now() - stopped) / 1000).toFixed(1)} s\n`);
    const { stderr } = await exec("bash", [join(repoRoot, "hack/cluster/down.sh")], { env: plane.env });
    assert.match(stderr, /nothing to stop/);
    assert.deepEqual(nodeProcesses(plane.dir), []);
    assert.deepEqual(await machine(), before);
    assert.equal(existsSync(plane.dir), false);
  });
});
