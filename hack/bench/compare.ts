#!/usr/bin/env node
// Runs the same workloads against Postern's gateway and the Postfix + Dovecot anchor, alternating in
// one run, and prints the figures side by side with the issue's targets. Both servers are already
// running (hack/bench/gateway.sh starts them); every workload runs in a load-generator process of its
// own. The password comes from BENCH_PASS.
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import type { MeasurementResult } from "./measurement.ts";
import { CPUS, type CpuUse, cpuUse, type Memory, readMemory, sampleCpu } from "./proc-stats.ts";
import {
  combineRounds,
  formatMiB,
  formatMs,
  formatRate,
  formatTable,
  type IdleFigures,
  judgeIdle,
  judgePerMessage,
  judgePooled,
  type LoadFigures,
  TARGETS,
  type Verdict,
} from "./report.ts";
import { describeVerifier, passwdFileStoredHash, posternStoredHash } from "./verifier-at-rest.ts";
import type { IdleResult } from "./workloads.ts";

const LOAD_GENERATOR = join(import.meta.dirname, "load-generator.ts");
// Postfix answers 250 once a message is queued and relays it afterwards; the next workload starts only
// when that backlog is gone, so neither server is measured while Postfix still works off the last one.
const QUEUE_DIRS = ["maildrop", "incoming", "active", "deferred", "hold"];
const QUEUE_DRAIN_TIMEOUT_MS = 60_000;

type Server = "postern" | "postfix";
type Mode = "pooled" | "per-message";
type LoadResult = MeasurementResult & { loadGeneratorCpuPercent: number };

interface Run {
  server: Server;
  round: number;
  result: LoadResult;
  /** The process figure is the gateway's (Postern runs only: Postfix is many processes). */
  cpu: CpuUse;
}

const { values } = parseArgs({
  options: {
    postern: { type: "string" },
    postfix: { type: "string" },
    "gateway-pid": { type: "string" },
    "postern-users": { type: "string" },
    "anchor-dir": { type: "string" },
    user: { type: "string", default: "alice@example.com" },
    "pooled-sessions": { type: "string", default: "20" },
    "per-message-sessions": { type: "string", default: "10" },
    "idle-sessions": { type: "string", default: String(TARGETS.idleSessions) },
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
  },
});

function required(name: string, value: string | undefined): string {
  if (!value) {
    throw new Error(
      `${name} is required; usage: BENCH_PASS=... compare.ts --postern H:P --postfix H:P --gateway-pid PID ` +
        "--postern-users FILE --anchor-dir DIR [--rounds N]",
    );
  }
  return value;
}

const password = required("BENCH_PASS", process.env.BENCH_PASS);
const postern = required("--postern", values.postern);
const postfix = required("--postfix", values.postfix);
const gatewayPid = Number(required("--gateway-pid", values["gateway-pid"]));
const posternUsers = required("--postern-users", values["postern-users"]);
const anchorDir = required("--anchor-dir", values["anchor-dir"]);
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1))
  throw new Error(`--rounds ${values.rounds}: expected 1 or more`);

// Load generators still running when this process is stopped (a timeout, Ctrl-C) are stopped with it.
const running = new Set<ChildProcess>();
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill("SIGTERM");
    process.exit(128 + (signal === "SIGTERM" ? 15 : 2));
  });
}

/** Starts a load generator; its stderr (errors, if any) is shown prefixed with `label`. */
function loadGenerator(label: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [LOAD_GENERATOR, "--user", values.user, ...args], {
    env: { ...process.env, LOADGEN_PASS: password },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (child.stderr) {
    createInterface({ input: child.stderr }).on("line", (line) =>
      process.stderr.write(`  [${label}] ${line}\n`),
    );
  }
  return child;
}

/** The first JSON line the load generator prints. */
function firstResult<T>(child: ChildProcess, label: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (!child.stdout) return reject(new Error(`${label}: no stdout`));
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line) as T));
    child.once("exit", (code) =>
      reject(new Error(`${label}: load generator exited with ${code} before reporting`)),
    );
  });
}

async function postfixQueueDepth(): Promise<number> {
  let count = 0;
  for (const dir of QUEUE_DIRS) {
    const path = join(anchorDir, "queue", dir);
    const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => []);
    count += entries.filter((e) => e.isFile()).length;
  }
  return count;
}

async function drainPostfixQueue(): Promise<void> {
  const started = Date.now();
  let depth = await postfixQueueDepth();
  if (depth === 0) return;
  process.stderr.write(`  waiting for Postfix to relay its queue (${depth} messages) ...`);
  while (depth > 0 && Date.now() - started < QUEUE_DRAIN_TIMEOUT_MS) {
    await sleep(250);
    depth = await postfixQueueDepth();
  }
  process.stderr.write(` ${depth === 0 ? "empty" : `still ${depth}`} after ${Date.now() - started} ms\n`);
}

async function load(server: Server, mode: Mode, sessions: string, round: number): Promise<Run> {
  const label = `${server} ${mode}`;
  process.stderr.write(`${label}: ${sessions} sessions, ${values.warmup} s warm-up + ${values.duration} s\n`);
  const args = ["--mode", mode, "--target", server === "postern" ? postern : postfix, "--sessions", sessions];
  args.push("--warmup", values.warmup, "--duration", values.duration);
  const pid = server === "postern" ? gatewayPid : undefined;
  const before = await sampleCpu(pid);
  const result = await firstResult<LoadResult>(loadGenerator(label, args), label);
  const cpu = cpuUse(before, await sampleCpu(pid), CPUS);
  if (server === "postfix") await drainPostfixQueue();
  return { server, round, result, cpu };
}

/** Both servers, `rounds` times, the order flipped every round so a trend in background load hits both. */
async function compare(mode: Mode, sessions: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: Server[] = round % 2 === 1 ? ["postern", "postfix"] : ["postfix", "postern"];
    for (const server of order) runs.push(await load(server, mode, sessions, round));
  }
  return runs;
}

function figures(runs: readonly Run[], server: Server): LoadFigures {
  return combineRounds(runs.filter((r) => r.server === server).map((r) => r.result));
}

async function idle(sessions: string): Promise<IdleFigures & { baseline: Memory; seconds: number }> {
  const label = "postern idle";
  process.stderr.write(`${label}: opening ${sessions} authenticated sessions\n`);
  const baseline = await readMemory(gatewayPid);
  // --hold is only a backstop: the sessions are closed with SIGTERM as soon as memory was read.
  const args = ["--mode", "idle", "--target", postern, "--sessions", sessions, "--hold", "120"];
  const child = loadGenerator(label, args);
  try {
    const result = await firstResult<IdleResult>(child, label);
    await sleep(1000); // let the gateway settle with every session open
    return { ...result, ...(await readMemory(gatewayPid)), baseline };
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

/** How busy the machine is while no workload runs: other people's work skews every figure. */
async function backgroundBusyPercent(): Promise<number> {
  const before = await sampleCpu();
  await sleep(2000);
  return cpuUse(before, await sampleCpu(), CPUS).machineBusyPercent;
}

function loadCells(f: LoadFigures): string[] {
  return [
    formatRate(f.messagesPerSecond),
    formatMs(f.latencyMs.p50),
    formatMs(f.latencyMs.p99),
    String(f.errors),
  ];
}

function verdictCells(verdict: Verdict, target: string): string[] {
  return [
    verdict.ratio === null ? "-" : `${verdict.ratio.toFixed(2)}×`,
    target,
    verdict.pass ? "PASS" : "MISS",
  ];
}

function runLine(mode: Mode, run: Run): string {
  const { result, cpu } = run;
  const gateway = run.server === "postern" ? `gateway ${cpu.processPercentOfCore.toFixed(0)}%, ` : "";
  return (
    `  ${run.server} ${mode} round ${run.round}: ${formatRate(result.messagesPerSecond)} msg/s, ` +
    `p50 ${formatMs(result.latencyMs.p50)}, p99 ${formatMs(result.latencyMs.p99)}, ${result.errors} errors; CPU ` +
    `${gateway}load generator ${result.loadGeneratorCpuPercent}%, machine ${cpu.machineBusyPercent.toFixed(0)}% busy`
  );
}

async function main(): Promise<void> {
  const posternHash = posternStoredHash(parse(await readFile(posternUsers, "utf8")), values.user);
  const anchorHash = passwdFileStoredHash(await readFile(join(anchorDir, "users"), "utf8"), values.user);
  const posternVerifier = describeVerifier(posternHash ?? "");
  const anchorVerifier = describeVerifier(anchorHash ?? "");
  console.log(`verifier at rest, Postern: ${posternVerifier.scheme ?? "UNKNOWN"} ${posternVerifier.prefix}`);
  console.log(
    `verifier at rest, Postfix+Dovecot: ${anchorVerifier.scheme ?? "UNKNOWN"} ${anchorVerifier.prefix}`,
  );
  const backgroundBefore = await backgroundBusyPercent();

  const pooledSessions = values["pooled-sessions"];
  const perMessageSessions = values["per-message-sessions"];
  const pooled = await compare("pooled", pooledSessions);
  const perMessage = await compare("per-message", perMessageSessions);
  const idleFigures = await idle(values["idle-sessions"]);
  const backgroundAfter = await backgroundBusyPercent();

  const pooledVerdict = judgePooled(figures(pooled, "postern"), figures(pooled, "postfix"));
  const perMessageVerdict = judgePerMessage(
    figures(perMessage, "postern"),
    figures(perMessage, "postfix"),
    posternVerifier.scheme === "argon2id",
  );
  const idleVerdict = judgeIdle(idleFigures);
  const header = ["mode", "Postern msg/s", "p50", "p99", "err", "Postfix msg/s", "p50", "p99", "err"];
  const rows = [
    [...header, "ratio", "target", "result"],
    [
      `pooled (${pooledSessions} sessions)`,
      ...loadCells(figures(pooled, "postern")),
      ...loadCells(figures(pooled, "postfix")),
      ...verdictCells(pooledVerdict, `≥ ${TARGETS.pooledRatio}× and p99 no worse`),
    ],
    [
      `per-message (${perMessageSessions} sessions)`,
      ...loadCells(figures(perMessage, "postern")),
      ...loadCells(figures(perMessage, "postfix")),
      ...verdictCells(perMessageVerdict, `≥ ${TARGETS.perMessageRatio}×, argon2id at rest`),
    ],
    [
      `idle (${idleFigures.sessions} sessions)`,
      `${idleFigures.authenticated} authenticated`,
      `RSS ${formatMiB(idleFigures.rssBytes)}`,
      `peak ${formatMiB(idleFigures.hwmBytes)}`,
      String(idleFigures.errors),
      "not measured",
      "",
      "",
      "",
      ...verdictCells(
        idleVerdict,
        `${TARGETS.idleSessions} within ${formatMiB(TARGETS.idleRssBytes)} peak RSS`,
      ),
    ],
  ];
  console.log();
  console.log(formatTable(rows));
  console.log();
  const combined = rounds > 1 ? ` (the table shows the median of ${rounds} rounds)` : "";
  console.log(`runs${combined}; CPU in % of one core, machine in % of all ${CPUS} cores:`);
  for (const run of pooled) console.log(runLine("pooled", run));
  for (const run of perMessage) console.log(runLine("per-message", run));
  const perSession = (idleFigures.rssBytes - idleFigures.baseline.rssBytes) / idleFigures.sessions;
  console.log(
    `idle: gateway RSS ${formatMiB(idleFigures.baseline.rssBytes)} before, ${formatMiB(idleFigures.rssBytes)} ` +
      `with ${idleFigures.authenticated} sessions (${(perSession / 1024).toFixed(1)} KiB each), peak ` +
      `${formatMiB(idleFigures.hwmBytes)}; all authenticated ${idleFigures.seconds.toFixed(1)} s after the first connect`,
  );
  console.log(
    "idle: Postfix not measured (10,000 sessions are 10,000 smtpd processes; the anchor allows 200)",
  );
  console.log(
    `machine busy with no workload running: ${backgroundBefore.toFixed(0)}% before, ${backgroundAfter.toFixed(0)}% ` +
      "after (the servers at rest and anything else on the machine; well above a few % skews every figure)",
  );
}

try {
  await main();
} catch (err) {
  process.stderr.write(`compare: ${(err as Error).message}\n`);
  for (const child of running) child.kill("SIGTERM");
  process.exit(1);
}
