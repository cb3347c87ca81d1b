// Postfix's smtp-sink as the upstream relay in tests: a real SMTP server that writes every message
// it accepts to a file, so tests can assert what (and how many copies) arrived upstream.
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.ts";

export interface SmtpSink {
  port: number;
  dir: string;
  /** Messages received so far, as the sink wrote them (its X-* trace lines, then the message). */
  messages(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startSmtpSink(extraArgs: string[] = []): Promise<SmtpSink> {
  const dir = await mkdtemp(join(tmpdir(), "postern-sink-"));
  await chmod(dir, 0o777); // smtp-sink writes as the unprivileged user it switches to
  const port = await freePort();
  const child: ChildProcess = spawn(
    "smtp-sink",
    ["-u", "nobody", "-d", `${dir}/%M.`, ...extraArgs, `127.0.0.1:${port}`, "64"],
    { stdio: "ignore" },
  );
  await waitForPort(port);
  return {
    port,
    dir,
    async messages() {
      const files = (await readdir(dir)).sort();
      return Promise.all(files.map((f) => readFile(join(dir, f), "latin1")));
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
