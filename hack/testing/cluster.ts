// What cluster test files (`*.cluster-test.ts`) import to reach the control plane that
// hack/testing/global-setup.ts started for the run (or, when a test file is run on its own, the one
// `make cluster-up` started). Never a cluster from $KUBECONFIG or ~/.kube/config: tests create and
// delete things.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { PooledKubeConfig } from "../../operator/runtime/kube-config.ts";
import { repoRoot } from "./control-plane.ts";

/** Whether process `pid` runs; a zombie (exited, not yet reaped by init) does not. */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
  } catch {
    return false;
  }
}

/** Whether the process in a pid file runs. */
function processAlive(pidFile: string): boolean {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && processRuns(pid);
  } catch {
    return false;
  }
}

/** The admin kubeconfig of the control plane for this test run. Throws if there is none. */
export function kubeconfigPath(): string {
  const fromSetup = process.env.POSTERN_TEST_KUBECONFIG;
  if (fromSetup !== undefined && fromSetup !== "") {
    if (existsSync(fromSetup)) return fromSetup;
    throw new Error(
      `POSTERN_TEST_KUBECONFIG is ${fromSetup}, but that file does not exist (control plane gone?)`,
    );
  }
  const devDir = process.env.POSTERN_CLUSTER_DIR || "/tmp/postern-cluster";
  const devKubeconfig = join(devDir, "kubeconfig");
  if (existsSync(devKubeconfig) && processAlive(join(devDir, "kube-apiserver.pid"))) return devKubeconfig;
  throw new Error(
    "No Kubernetes control plane for this test run. Run cluster tests with " +
      "--test-global-setup=hack/testing/global-setup.ts (as `make cluster-tests` does), " +
      `or start one with \`make cluster-up\` (looked for ${devKubeconfig}).`,
  );
}

const configs = new Map<string, k8s.KubeConfig>();

/** A client-node KubeConfig for that control plane (admin, group system:masters); one per file, so
 *  its requests share connections. */
export function kubeConfig(): k8s.KubeConfig {
  const path = kubeconfigPath();
  let kc = configs.get(path);
  if (!kc) {
    kc = new PooledKubeConfig();
    kc.loadFromFile(path);
    configs.set(path, kc);
  }
  return kc;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
}

function isNotFound(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404;
}

/**
 * Creates a namespace with a unique name derived from the test's name (and `labels`, e.g. Pod
 * Security's), waits until its "default" ServiceAccount exists (pods cannot be created before), and
 * deletes it when the test ends.
 */
export async function freshNamespace(t: TestContext, labels: Record<string, string> = {}): Promise<string> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const suffix = Math.random().toString(36).slice(2, 8).padEnd(6, "0");
  const base = slug(t.name);
  const name = base === "" ? `t-${suffix}` : `t-${base}-${suffix}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { ...labels, "postern.dev/test": "true" } } },
  });
  t.after(async () => {
    try {
      await core.deleteNamespace({ name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: "default", namespace: name });
      return name;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `namespace ${name}: no "default" ServiceAccount after 30s (kube-controller-manager down?)`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kubectlBinary(): string {
  const ours = join(repoRoot, "hack/tools/bin/kubectl");
  return existsSync(ours) ? ours : "kubectl";
}

/**
 * Runs kubectl against the test control plane. Resolves with the exit code and output; a non-zero
 * exit is a result, not an error. `input` goes to stdin (e.g. with `apply -f -`).
 */
export async function kubectl(
  args: string[],
  opts: { input?: string; namespace?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fullArgs = ["--kubeconfig", kubeconfigPath()];
  if (opts.namespace !== undefined) fullArgs.push("--namespace", opts.namespace);
  fullArgs.push(...args);
  return await new Promise((resolveRun, reject) => {
    const child = spawn(kubectlBinary(), fullArgs, {
      env: { ...process.env, KUBECONFIG: "" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) => reject(new Error(`could not run kubectl: ${error.message}`)));
    child.on("close", (code, signal) => {
      resolveRun({
        code: code ?? (signal !== null ? 128 : 1),
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {}); // kubectl may exit before reading all of stdin
    child.stdin.end(opts.input ?? "");
  });
}
