// A network namespace of the test's own, with only its loopback up: a stand-in for a pod's network,
// so two gateways can listen on the same ports (as two pods do) and nothing reaches beyond them.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { type RunResult, run } from "../../gateway/testing/run.ts";

const exec = promisify(execFile);

export interface NetworkNamespace {
  name: string;
  /** Runs a program inside the namespace to completion. */
  run(command: string, args: readonly string[], options?: { timeoutMs?: number }): Promise<RunResult>;
  /** Starts a long-running program inside the namespace; killed when the test ends. */
  spawn(command: string, args: readonly string[]): ChildProcess;
}

export async function networkNamespace(t: TestContext): Promise<NetworkNamespace> {
  const name = `postern-t-${randomBytes(4).toString("hex")}`;
  await exec("ip", ["netns", "add", name]);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : null,
      ),
    );
    await exec("ip", ["netns", "del", name]);
  });
  await exec("ip", ["-n", name, "link", "set", "lo", "up"]);
  return {
    name,
    run: (command, args, options) => run("ip", ["netns", "exec", name, command, ...args], options),
    spawn(command, args) {
      const child = spawn("ip", ["netns", "exec", name, command, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      return child;
    },
  };
}
