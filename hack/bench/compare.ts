#!/usr/bin/env node
// Runs the same workloads against Postern's gateway and the Postfix + Dovecot anchor, alternating in
// one run, and prints the figures side by side with the issue's targets: throughput, latency and the
// CPU seconds each side spent per 1,000 messages (every process of each side, Postfix's relaying
// after its 250 included). Then Postern alone: one process against two workers sharing the
// listeners and against two replicas, and the memory of authenticated idle sessions on a fresh
// gateway. Everything is already running (hack/bench/gateway.sh starts it); every workload runs in a
// load-generator process of its own. The password comes from BENCH_PASS.
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import type { MeasurementResult } from "./measurement.ts";
import { CPUS, cpuUse, readMemory, readProcesses, sampleCpu, treeTicks, USER_HZ } from "./proc-stats.ts";
import {
  combineRounds,
  cpuSecondsPer1000,
  formatCpu,
  formatMiB,
  formatMs,
  formatRate,
  formatTable,
  type IdleFigures,
  type IdleTarget,
  judgeIdle,
  judgeLarge,
  judgePerMessage,
  judgePooled,
  type LoadFigures,
  TARGETS,
  type Verdict,
} from "./report.ts";
import {
  describeVerifier,
  passwdFileStoredHash,
  posternStoredHash,
  sameArgon2idCost,
} from "./verifier-at-rest.ts";
import type { IdleResult } from "./workloads.ts";

const LOAD_GENERATOR = join(import.meta.dirname, "load-generator.ts");
// Postfix answers 250 once a message is queued and relays it afterwards; the next workload starts only
// when that backlog is gone, so neither server is measured while Postfix still works off the last one,
// and the relaying is counted in the anchor's CPU time.
const QUEUE_DIRS = ["maildrop", "incoming", "active", "deferred", "hold"];
const QUEUE_DRAIN_TIMEOUT_MS = 60_000;
/** A cold run ends when every user logged in once; this only bounds a server that stalls. */
const COLD_RUN_CAP_SECONDS = 600;

type Server = "postern" | "postfix";
type Mode = "pooled" | "per-message" | "cold" | "large";
type LoadResult = MeasurementResult & { loadGeneratorCpuPercent: number };

interface Run {
  server: Server;
  round: number;
  result: LoadResult;
  figures: LoadFigures;
  /** The server's processes in % of one core, and the machine's business. */
  serverPercentOfCore: number;
  machineBusyPercent: number;
}

const { values } = parseArgs({
  options: {
    postern: { type: "string" },
    "postern-pid": { type: "string" },
    postfix: { type: "string" },
    "anchor-dir": { type: "string" },
    users: { type: "string" },
    "cold-users": { type: "string" },
    user: { type: "string", default: "alice@example.com" },
    workers: { type: "string" },
    "workers-pid": { type: "string" },
    replicas: { type: "string" },
    "replicas-pids": { type: "string" },
    idle: { type: "string" },
    large: { type: "string" },
    "large-pid": { type: "string" },
    "idle-pid": { type: "string" },
    "idle-sessions": { type: "string", default: TARGETS.idle.map((t) => t.sessions).join(",") },
    "local-addresses": { type: "string" },
    "pooled-sessions": { type: "string", default: "20" },
    "per-message-sessions": { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
  },
});

function required(name: string, value: string | undefined): string {
  if (!value) throw new Error(`${name} is required (hack/bench/gateway.sh passes every argument)`);
  return value;
}

const password = required("BENCH_PASS", process.env.BENCH_PASS);
const postern = required("--postern", values.postern);
const posternPid = Number(required("--postern-pid", values["postern-pid"]));
const postfix = required("--postfix", values.postfix);
const anchorDir = required("--anchor-dir", values["anchor-dir"]);
const coldDir = required("--cold-users", values["cold-users"]);
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
    const entries = await readdir(join(anchorDir, "queue", dir), {
      recursive: true,
      withFileTypes: true,
    }).catch(() => []);
    count += entries.filter((e) => e.isFile()).length;
  }
  return count;
}

async function drainPostfixQueue(): Promise<void> {
  const started = Date.now();
  while ((await postfixQueueDepth()) > 0 && Date.now() - started < QUEUE_DRAIN_TIMEOUT_MS) await sleep(100);
}

/** The root processes of each side: the gateway; Postfix's master and Dovecot's (their children
 *  come and go, and leave their CPU time with them). The shared smtp-sink belongs to neither. */
async function rootsOf(server: Server, pid = posternPid): Promise<number[]> {
  if (server === "postern") return [pid];
  const pidFile = (path: string) => readFile(join(anchorDir, path), "utf8").then((t) => Number(t.trim()));
  return Promise.all([pidFile("queue/pid/master.pid"), pidFile("dovecot-run/master.pid")]);
}

interface Target {
  server: Server;
  address: string;
  /** Process-tree roots whose CPU time is the server's. */
  roots: number[];
}

async function load(target: Target, mode: Mode, round: number, extra: string[] = []): Promise<Run> {
  const label = `${target.server} ${mode}`;
  const args = ["--mode", mode === "pooled" ? "pooled" : "per-message", "--target", target.address];
  if (mode === "large") {
    const { sessions, messageBytes } = TARGETS.large;
    // A little under the size limit, so the Received header each server adds still fits.
    args.push("--sessions", String(sessions), "--message-bytes", String(messageBytes - 4096));
    args.push("--warmup", "0", "--duration", String(COLD_RUN_CAP_SECONDS), "--messages", String(sessions));
    // One user per session, as 50 people sending at once: one user's transactions are capped.
    args.push("--timeout", "300", "--cold-users", join(coldDir, "cold-1.txt"));
  } else if (mode === "cold") {
    args.push(
      "--sessions",
      values["per-message-sessions"],
      "--cold-users",
      join(coldDir, `cold-${round}.txt`),
    );
    args.push("--warmup", "0", "--duration", String(COLD_RUN_CAP_SECONDS));
  } else {
    const sessions = mode === "pooled" ? values["pooled-sessions"] : values["per-message-sessions"];
    args.push("--sessions", sessions, "--warmup", values.warmup, "--duration", values.duration);
  }
  process.stderr.write(`${label}, round ${round} ...\n`);
  const ticksBefore = treeTicks(await readProcesses(), target.roots);
  const machineBefore = await sampleCpu();
  const started = Date.now();
  const result = await firstResult<LoadResult>(loadGenerator(label, [...args, ...extra]), label);
  if (target.server === "postfix") await drainPostfixQueue();
  const ticks = treeTicks(await readProcesses(), target.roots) - ticksBefore;
  const machine = cpuUse(machineBefore, await sampleCpu(), CPUS);
  return {
    server: target.server,
    round,
    result,
    figures: {
      messagesPerSecond: result.messagesPerSecond,
      latencyMs: result.latencyMs,
      errors: result.errors,
      cpuSecondsPer1000: cpuSecondsPer1000(ticks, USER_HZ, result.accepted),
    },
    serverPercentOfCore: (ticks / USER_HZ / ((Date.now() - started) / 1000)) * 100,
    machineBusyPercent: machine.machineBusyPercent,
  };
}

/** Both servers, `rounds` times, the order flipped every round so a trend in background load hits both. */
async function compare(mode: Mode, targets: Record<Server, Target>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: Server[] = round % 2 === 1 ? ["postern", "postfix"] : ["postfix", "postern"];
    for (const server of order) runs.push(await load(targets[server], mode, round));
  }
  return runs;
}

const figures = (runs: readonly Run[], server: Server) =>
  combineRounds(runs.filter((r) => r.server === server).map((r) => r.figures));

type IdleRun = IdleFigures & { baseline: number; seconds: number };

/** Opens `sessions` authenticated sessions against the idle gateway and reads its memory. */
async function idle(address: string, pid: number, sessions: number): Promise<IdleRun> {
  const label = `postern idle ${sessions}`;
  process.stderr.write(`${label}: opening ${sessions} authenticated sessions\n`);
  const baseline = (await readMemory(pid)).rssBytes;
  const args = ["--mode", "idle", "--target", address, "--sessions", String(sessions), "--hold", "600"];
  if (values["local-addresses"]) args.push("--local-addresses", values["local-addresses"]);
  const child = loadGenerator(label, args);
  try {
    const result = await firstResult<IdleResult>(child, label);
    await sleep(2000); // let the gateway settle with every session open
    return { ...result, ...(await readMemory(pid)), baseline };
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    await sleep(2000); // the sessions close
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
    formatCpu(f.cpuSecondsPer1000),
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
  const { result } = run;
  return (
    `  ${run.server} ${mode} round ${run.round}: ${formatRate(result.messagesPerSecond)} msg/s, p50 ` +
    `${formatMs(result.latencyMs.p50)}, p99 ${formatMs(result.latencyMs.p99)}, ${result.errors} errors, ` +
    `${formatCpu(run.figures.cpuSecondsPer1000)} CPU per 1,000; server ${run.serverPercentOfCore.toFixed(0)}% ` +
    `of a core, load generator ${result.loadGeneratorCpuPercent}%, machine ${run.machineBusyPercent.toFixed(0)}% busy`
  );
}

/** One process against workers sharing its listeners and against replicas on their own ports. */
async function multiCore(single: Record<"pooled" | "per-message", LoadFigures>): Promise<string[][]> {
  const variants: { name: string; address?: string | undefined; pids?: string | undefined }[] = [
    { name: "2 workers, one process (node:cluster)", address: values.workers, pids: values["workers-pid"] },
    { name: "2 replicas (two processes)", address: values.replicas, pids: values["replicas-pids"] },
  ];
  const rows = [["Postern as", "pooled msg/s", "p99", "CPU/1,000", "per-message msg/s", "p99", "CPU/1,000"]];
  const cells = (pooled: LoadFigures, perMessage: LoadFigures) => [
    formatRate(pooled.messagesPerSecond),
    formatMs(pooled.latencyMs.p99),
    formatCpu(pooled.cpuSecondsPer1000),
    formatRate(perMessage.messagesPerSecond),
    formatMs(perMessage.latencyMs.p99),
    formatCpu(perMessage.cpuSecondsPer1000),
  ];
  rows.push(["1 process (the table above)", ...cells(single.pooled, single["per-message"])]);
  for (const variant of variants) {
    if (!variant.address || !variant.pids) continue;
    const target: Target = {
      server: "postern",
      address: variant.address,
      roots: variant.pids.split(",").map(Number),
    };
    const pooled = await load(target, "pooled", 1);
    const perMessage = await load(target, "per-message", 1);
    rows.push([variant.name, ...cells(pooled.figures, perMessage.figures)]);
  }
  return rows;
}

async function main(): Promise<void> {
  const users = parse(await readFile(required("--users", values.users), "utf8"));
  const posternVerifier = describeVerifier(posternStoredHash(users, values.user) ?? "");
  const anchorHash = passwdFileStoredHash(await readFile(join(anchorDir, "users"), "utf8"), values.user);
  const anchorVerifier = describeVerifier(anchorHash ?? "");
  const sameCost = sameArgon2idCost(posternVerifier, anchorVerifier);
  console.log(
    `verifier at rest, Postern:         ${posternVerifier.prefix} (${posternVerifier.cost ?? "refused"})`,
  );
  console.log(
    `verifier at rest, Postfix+Dovecot: ${anchorVerifier.prefix} (${anchorVerifier.cost ?? "refused"})`,
  );
  const backgroundBefore = await backgroundBusyPercent();

  const targets: Record<Server, Target> = {
    postern: { server: "postern", address: postern, roots: await rootsOf("postern") },
    postfix: { server: "postfix", address: postfix, roots: await rootsOf("postfix") },
  };
  const runs: Record<Exclude<Mode, "large">, Run[]> = {
    pooled: await compare("pooled", targets),
    "per-message": await compare("per-message", targets),
    cold: await compare("cold", targets),
  };
  const posternFigures = {
    pooled: figures(runs.pooled, "postern"),
    "per-message": figures(runs["per-message"], "postern"),
    cold: figures(runs.cold, "postern"),
  };
  const multiCoreRows = await multiCore(posternFigures);

  // Large messages on a gateway of their own, so its peak RSS is theirs alone.
  let large: { postern: Run; postfix: Run; hwmBytes: number } | undefined;
  if (values.large && values["large-pid"]) {
    const pid = Number(values["large-pid"]);
    const postern = await load({ server: "postern", address: values.large, roots: [pid] }, "large", 1);
    large = {
      postern,
      postfix: await load(targets.postfix, "large", 1),
      hwmBytes: (await readMemory(pid)).hwmBytes,
    };
  }

  const idleRuns: { target: IdleTarget; figures: IdleRun }[] = [];
  if (values.idle && values["idle-pid"]) {
    for (const sessions of values["idle-sessions"].split(",").map(Number)) {
      const target: IdleTarget = TARGETS.idle.find((t) => t.sessions === sessions) ?? {
        sessions,
        rssBytes: 0,
      };
      idleRuns.push({ target, figures: await idle(values.idle, Number(values["idle-pid"]), sessions) });
    }
  }
  const backgroundAfter = await backgroundBusyPercent();

  const header = ["mode", "Postern msg/s", "p50", "p99", "err", "CPU/1,000", "Postfix msg/s", "p50", "p99"];
  const rows = [[...header, "err", "CPU/1,000", "ratio", "target", "result"]];
  const row = (mode: Exclude<Mode, "large">, name: string, verdict: Verdict, target: string) => [
    name,
    ...loadCells(figures(runs[mode], "postern")),
    ...loadCells(figures(runs[mode], "postfix")),
    ...verdictCells(verdict, target),
  ];
  rows.push(
    row(
      "pooled",
      `pooled (${values["pooled-sessions"]} sessions)`,
      judgePooled(posternFigures.pooled, figures(runs.pooled, "postfix")),
      `≥ ${TARGETS.pooledRatio}×, p99 no worse`,
    ),
    row(
      "per-message",
      `per-message, warm (${values["per-message-sessions"]} sessions, 1 user)`,
      judgePerMessage(
        posternFigures["per-message"],
        figures(runs["per-message"], "postfix"),
        TARGETS.perMessageWarmRatio,
        sameCost,
      ),
      `≥ ${TARGETS.perMessageWarmRatio}×, same argon2id cost`,
    ),
    row(
      "cold",
      `per-message, cold (${values["per-message-sessions"]} sessions, each user once)`,
      judgePerMessage(
        posternFigures.cold,
        figures(runs.cold, "postfix"),
        TARGETS.perMessageColdRatio,
        sameCost,
      ),
      `≥ ${TARGETS.perMessageColdRatio}×, same argon2id cost`,
    ),
  );
  if (large) {
    const mib = (run: Run) =>
      `${formatRate((run.result.messagesPerSecond * TARGETS.large.messageBytes) / 1024 ** 2)} MiB/s`;
    rows.push([
      `${TARGETS.large.sessions} × 25 MiB at once`,
      `${formatRate(large.postern.result.messagesPerSecond)} (${mib(large.postern)})`,
      formatMs(large.postern.result.latencyMs.p50),
      `peak ${formatMiB(large.hwmBytes)}`,
      String(large.postern.result.errors),
      formatCpu(large.postern.figures.cpuSecondsPer1000),
      `${formatRate(large.postfix.result.messagesPerSecond)} (${mib(large.postfix)})`,
      formatMs(large.postfix.result.latencyMs.p50),
      "",
      String(large.postfix.result.errors),
      formatCpu(large.postfix.figures.cpuSecondsPer1000),
      ...verdictCells(
        judgeLarge(large.postern.figures, large.postern.result.accepted, large.hwmBytes),
        `peak ≤ ${formatMiB(TARGETS.large.rssBytes)}, all relayed`,
      ),
    ]);
  }
  for (const { target, figures: f } of idleRuns) {
    rows.push([
      `idle (${f.sessions} sessions)`,
      `${f.authenticated} authenticated`,
      `RSS ${formatMiB(f.rssBytes)}`,
      `peak ${formatMiB(f.hwmBytes)}`,
      String(f.errors),
      "",
      "not measured",
      "",
      "",
      "",
      "",
      ...(target.rssBytes > 0
        ? verdictCells(judgeIdle(f, target), `peak ≤ ${formatMiB(target.rssBytes)}`)
        : ["-", "no target for this count", ""]),
    ]);
  }
  console.log();
  console.log(formatTable(rows));
  console.log();
  console.log(
    "CPU/1,000: CPU seconds per 1,000 accepted messages, every process of each side (Postern: the gateway; " +
      "Postfix+Dovecot: master and Dovecot with all their children, relaying included).",
  );
  console.log(`runs${rounds > 1 ? ` (the table shows the median of ${rounds} rounds)` : ""}:`);
  for (const mode of ["pooled", "per-message", "cold"] as const)
    for (const run of runs[mode]) console.log(runLine(mode, run));
  for (const { figures: f } of idleRuns) {
    const perSession = (f.rssBytes - f.baseline) / f.sessions;
    console.log(
      `idle: a fresh gateway, ${formatMiB(f.baseline)} before, ${formatMiB(f.rssBytes)} with ${f.authenticated} ` +
        `sessions (${(perSession / 1024).toFixed(1)} KiB each), peak ${formatMiB(f.hwmBytes)}; all authenticated ` +
        `${f.seconds.toFixed(1)} s after the first connect`,
    );
  }
  console.log("idle: Postfix not measured (each session is an smtpd process; the anchor allows 200)");
  if (multiCoreRows.length > 2) {
    console.log();
    console.log(
      "one gateway process on several cores, or more replicas (pooled and warm per-message, 1 round):",
    );
    console.log(formatTable(multiCoreRows));
  }
  console.log();
  console.log(
    `machine busy with no workload running: ${backgroundBefore.toFixed(0)}% before, ${backgroundAfter.toFixed(0)}% ` +
      "after (well above a few % skews every figure)",
  );
}

try {
  await main();
} catch (err) {
  process.stderr.write(`compare: ${(err as Error).message}\n`);
  for (const child of running) child.kill("SIGTERM");
  process.exit(1);
}
