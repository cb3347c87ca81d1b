// Small helpers for tests that drive real client programs: run one with a deadline and capture what
// it printed, build a unique test message, and find that message in the upstream sink.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SmtpSink } from "./smtp-sink.ts";

export interface RunResult {
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to standard input, which is then closed (so nothing ever waits for a terminal). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs a program to completion. A program that outlives its deadline is killed and the returned
 * promise rejects with what it printed so far, so a hung client fails its test instead of hanging it.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        const output = JSON.stringify({ stdout: stdout.slice(-2000), stderr: stderr.slice(-2000) });
        reject(new Error(`${command} did not finish within ${timeoutMs} ms: ${output}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
    child.stdin.on("error", () => {}); // a client that exits early closes its stdin: not our error
    child.stdin.end(options.input ?? "");
  });
}

export interface TestMessage {
  /** Unique per message: tests find their copy in a sink shared with other tests by it. */
  token: string;
  from: string;
  to: string;
  /** RFC 5322 text with CRLF line endings. */
  text: string;
}

export function testMessage(from: string, to: string): TestMessage {
  const token = randomUUID();
  const text = [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: interop ${token}`,
    `Message-ID: <${token}@client.test>`,
    `Date: ${new Date().toUTCString()}`,
    "",
    `Body of ${token}.`,
    "",
  ].join("\r\n");
  return { token, from, to, text };
}

/** The sink's copies of the message carrying `token`, as of now. */
export async function sinkCopies(sink: SmtpSink, token: string): Promise<string[]> {
  return (await sink.messages()).filter((m) => m.includes(token));
}

/** The gateway's RFC 3848 trace expected on a relayed message. */
export interface ExpectedTrace {
  /** Default `ESMTPSA`: authenticated, over TLS; `ESMTPA`: authenticated, in the clear. */
  with?: "ESMTPSA" | "ESMTPA";
  /** The gateway's `hostname` (default: the test gateway's, gateway.test). */
  by?: string;
}

/**
 * Asserts that the message carrying `token` reached the upstream exactly once, with the gateway's
 * Received trace, and returns that copy. The gateway answers 250 only after the upstream did; the
 * grace period covers the sink's own file write.
 */
export async function assertDeliveredOnce(
  sink: SmtpSink,
  token: string,
  expected: ExpectedTrace = {},
): Promise<string> {
  const deadline = Date.now() + 2000;
  let copies = await sinkCopies(sink, token);
  while (copies.length === 0 && Date.now() < deadline) {
    await sleep(50);
    copies = await sinkCopies(sink, token);
  }
  assert.equal(copies.length, 1, `copies of message ${token} upstream`);
  const copy = copies[0] ?? "";
  const trace = /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r?\n\tby (\S+) \(Postern\) with (\S+) id /m.exec(
    copy,
  );
  assert.ok(trace, `the gateway's Received trace in ${JSON.stringify(copy.slice(0, 500))}`);
  assert.deepEqual(
    { by: trace[1], with: trace[2] },
    { by: expected.by ?? "gateway.test", with: expected.with ?? "ESMTPSA" },
  );
  return copy;
}
