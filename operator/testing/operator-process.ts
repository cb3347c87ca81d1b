// The real `postern-operator` CLI as a child process, for the cluster tests: what they observe is what
// a user's operator does, flags, leader election, logs and all. It listens on ephemeral loopback ports
// and says which in its "serving" log line.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { kubeconfigPath } from "../../hack/testing/cluster.ts";
import { repoRoot } from "../../hack/testing/control-plane.ts";

export interface OperatorProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT of /metrics. */
  metricsUrl: string;
  /** http://127.0.0.1:PORT of /healthz and /readyz. */
  healthUrl: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM (or `signal`) and wait for the exit; returns the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
  exited: Promise<number | string | null>;
}

export interface OperatorProcessOptions {
  /** The only namespace it watches: operators of tests running side by side never meet. */
  namespace: string;
  /** The Lease it elects on; operators sharing one elect one leader. Default: one of its own. */
  leaseName?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** A short lease so failover tests run in seconds. */
  leaseSeconds?: number;
  /** Another control plane than the run's shared one. */
  kubeconfig?: string;
}

/** `owner` stops it at the end: a test's context, or anything else with an after() (a benchmark). */
export async function startOperator(
  owner: { after(fn: () => unknown): void },
  options: OperatorProcessOptions,
): Promise<OperatorProcess> {
  const lease = options.leaseSeconds ?? 4;
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "operator/cli/postern-operator.ts"),
      `--kubeconfig=${options.kubeconfig ?? kubeconfigPath()}`,
      "--gateway-image=localhost/postern/postern:test",
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      `--leader-elect-lease-duration=${lease}s`,
      `--leader-elect-renew-deadline=${lease * 0.75}s`,
      `--leader-elect-retry-period=${lease / 8}s`,
      "--leader-election-namespace=default",
      `--leader-election-id=${options.leaseName ?? `postern-operator-${options.namespace}`}`,
      `--namespaces=${options.namespace}`,
      "--log-level=debug",
      ...(options.args ?? []),
    ],
    { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );

  function waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`operator log line not seen in ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      const waiter = {
        predicate,
        resolve: (line: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.push(waiter);
      void exited.then((code) => {
        if (waiters.includes(waiter)) {
          clearTimeout(timer);
          reject(new Error(`operator exited (${code}) before the log line; stderr: ${stderr}`));
        }
      });
    });
  }

  async function stop(signal: NodeJS.Signals = "SIGTERM") {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  }
  owner.after(() => stop("SIGKILL"));

  const serving = await waitForLog((line) => line.msg === "serving");
  return {
    child,
    metricsUrl: `http://${serving.metrics}`,
    healthUrl: `http://${serving.health}`,
    logs,
    waitForLog,
    stop,
    exited,
  };
}
