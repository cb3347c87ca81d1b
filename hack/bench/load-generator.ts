#!/usr/bin/env node
// The benchmark's load generator, a process of its own so it never shares an event loop with the
// server it measures. Prints one JSON line with its figures on stdout, and each distinct error with
// its count on stderr. The password comes from the LOADGEN_PASS environment variable, never from argv
// (which every user of the machine can read in ps).
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseTarget } from "./smtp-session.ts";
import { idle, type LoadOptions, perMessage, pooled } from "./workloads.ts";

const USAGE = `usage: LOADGEN_PASS=... node hack/bench/load-generator.ts --mode pooled|per-message|idle
    --target HOST:PORT[,HOST:PORT...] [--sessions N] [--user U] [--to ADDR] [--message-bytes 4096]
    [--warmup SECONDS] [--duration SECONDS] [--messages M]       (pooled, per-message)
    [--cold-users FILE]                                          (per-message: each user of FILE, one
                                                                  per line, logs in once; then it ends;
                                                                  pooled: session i is user i)
    [--in-flight N] [--hold SECONDS] [--local-addresses A,B...]  (idle; holds until SIGTERM without --hold)
    [--timeout SECONDS]`;

function positive(name: string, text: string | undefined, orZero = false): number {
  const value = Number(text);
  if (!(value > 0 || (orZero && value === 0)))
    throw new Error(`--${name} ${text}: expected ${orZero ? "0 or more" : "a positive number"}`);
  return value;
}

function report(figures: Record<string, unknown> & { errorTexts: { text: string; count: number }[] }) {
  for (const { text, count } of figures.errorTexts) process.stderr.write(`error ×${count}: ${text}\n`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: "string" },
      target: { type: "string" },
      sessions: { type: "string", default: "10" },
      user: { type: "string", default: "alice@example.com" },
      to: { type: "string", default: "bob@example.net" },
      "message-bytes": { type: "string", default: "4096" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "10" },
      messages: { type: "string" },
      "in-flight": { type: "string", default: "100" },
      hold: { type: "string" },
      "cold-users": { type: "string" },
      "local-addresses": { type: "string" },
      timeout: { type: "string", default: "30" },
    },
  });
  const pass = process.env.LOADGEN_PASS;
  if (!values.mode || !values.target || !pass) throw new Error(`${USAGE}\n(LOADGEN_PASS must be set)`);
  const coldUsers = values["cold-users"]
    ? (await readFile(values["cold-users"], "utf8")).split("\n").filter(Boolean)
    : undefined;
  const options: LoadOptions = {
    targets: values.target.split(",").map(parseTarget),
    credentials: { user: values.user, pass },
    coldUsers,
    localAddresses: values["local-addresses"]?.split(","),
    to: values.to,
    messageBytes: positive("message-bytes", values["message-bytes"]),
    sessions: positive("sessions", values.sessions),
    session: { timeoutMs: positive("timeout", values.timeout) * 1000 },
  };
  const window = {
    warmupMs: positive("warmup", values.warmup, true) * 1000,
    durationMs: positive("duration", values.duration) * 1000,
    maxMessages: values.messages === undefined ? undefined : positive("messages", values.messages),
  };
  const started = process.cpuUsage();
  const wallStart = performance.now();
  // The load generator's own CPU, in % of one core: near 100 means it, not the server, is the limit.
  const cpuPercent = () => {
    const { user, system } = process.cpuUsage(started);
    return Math.round((user + system) / 10 / (performance.now() - wallStart));
  };

  switch (values.mode) {
    case "pooled":
    case "per-message": {
      const run = values.mode === "pooled" ? pooled : perMessage;
      const result = await run(options, window);
      report({
        mode: values.mode,
        sessions: options.sessions,
        ...result,
        loadGeneratorCpuPercent: cpuPercent(),
      });
      return;
    }
    case "idle": {
      // Idle sessions must outlive any pause in the benchmark: no client-side inactivity timeout.
      const sessions = await idle(
        { ...options, session: { ...options.session, idleTimeoutMs: 24 * 3600 * 1000 } },
        positive("in-flight", values["in-flight"]),
      );
      report({ mode: "idle", ...sessions.result, loadGeneratorCpuPercent: cpuPercent() });
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
        if (values.hold !== undefined) setTimeout(resolve, positive("hold", values.hold) * 1000);
      });
      sessions.close();
      return;
    }
    default:
      throw new Error(`--mode ${values.mode}: expected pooled, per-message or idle`);
  }
}

try {
  await main();
  // Sockets still closing would otherwise keep the process alive for their close timeouts.
  process.exit(0);
} catch (err) {
  process.stderr.write(`load-generator: ${(err as Error).message}\n`);
  process.exit(64);
}
