// Postfix's smtp-sink as the upstream relay in tests: a real SMTP server that writes every message
// it accepts to a file, so tests can assert what (and how many copies) arrived upstream.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
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

export interface SmtpSinkOptions {
  /** Listen here instead of on a free port (to bring a stopped upstream back at the same address). */
  port?: number;
  /** Listen on this address instead of 127.0.0.1 (the end-to-end tests' pods reach the node's). */
  host?: string;
}

/**
 * `extraArgs` are smtp-sink(1) options, e.g. fault injection: `-f cmd,...` hard-rejects (5xx) and
 * `-r cmd,...` soft-rejects (4xx) the listed commands (MAIL, RCPT, DATA, "." for end of data),
 * `-B`/`-b` set those replies' text, `-q cmd,...` disconnects without a reply, `-Q cmd,...` replies
 * 421 and disconnects, `-w s` delays the reply to DATA, `-W cmd:s` to any command (CONNECT: the
 * greeting). Note that a transaction refused at end of data is still written to the dump file.
 */
export async function startSmtpSink(
  extraArgs: string[] = [],
  options: SmtpSinkOptions = {},
): Promise<SmtpSink> {
  const dir = await mkdtemp(join(tmpdir(), "postern-sink-"));
  await chmod(dir, 0o777); // smtp-sink writes as the unprivileged user it switches to
  const port = options.port ?? (await freePort());
  const host = options.host ?? "127.0.0.1";
  const child: ChildProcess = spawn(
    existsSync("/usr/sbin/smtp-sink") ? "/usr/sbin/smtp-sink" : "smtp-sink",
    // As root smtp-sink must drop privileges (-u); as anyone else it may not try.
    [
      ...(process.getuid?.() === 0 ? ["-u", "nobody"] : []),
      "-d",
      `${dir}/%M.`,
      ...extraArgs,
      `${host}:${port}`,
      "64",
    ],
    { stdio: "ignore" },
  );
  await waitForPort(port, 10_000, host);
  return {
    port,
    dir,
    async messages() {
      // A transaction has a file from MAIL FROM on, deleted if the client resets or goes away; it is
      // a message once the sink closed it, which it does at the end of data, before its 250. Until
      // then the sink holds it open (and a client that leaves mid-DATA leaves it for a moment).
      const open = await openFiles(child.pid);
      const files = (await readdir(dir)).sort().filter((f) => !open.has(join(dir, f)));
      const read = (f: string) => readFile(join(dir, f), "latin1").catch(() => "");
      return (await Promise.all(files.map(read))).filter((m) => /^\tby \S+ \(smtp-sink\) with /m.test(m));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The files a process has open, by path (empty once it exited). */
async function openFiles(pid: number | undefined): Promise<Set<string>> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const paths = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
  return new Set(paths);
}
