// The comparison's verdicts against the targets, and the table they are printed in. Pure: the
// figures come in, text goes out.
import type { LatencySummary } from "./latency.ts";

export interface LoadFigures {
  messagesPerSecond: number;
  latencyMs: Pick<LatencySummary, "p50" | "p99">;
  errors: number;
  /** CPU seconds the server (all its processes) spent per 1,000 accepted messages; null if unknown. */
  cpuSecondsPer1000: number | null;
}

export interface IdleFigures {
  sessions: number;
  authenticated: number;
  errors: number;
  /** Peak resident size of the gateway process while holding them. */
  hwmBytes: number;
  rssBytes: number;
}

export interface Verdict {
  /** Postern's figure over Postfix's; null when there is no Postfix figure to divide by. */
  ratio: number | null;
  pass: boolean;
}

export const TARGETS = {
  pooledRatio: 3,
  perMessageWarmRatio: 10,
  perMessageColdRatio: 1.5,
  /** Concurrent large messages, streamed: the gateway's peak RSS while relaying them. */
  large: { sessions: 50, messageBytes: 25 * 1024 ** 2, rssBytes: 300 * 1024 ** 2 },
  /** Authenticated idle sessions and the gateway's peak RSS holding them. */
  idle: [
    { sessions: 10_000, rssBytes: 512 * 1024 ** 2 },
    { sessions: 50_000, rssBytes: 2 * 1024 ** 3 },
  ],
} as const;

export interface IdleTarget {
  sessions: number;
  rssBytes: number;
}

function median(values: readonly number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = sorted.length / 2;
  return Number.isInteger(middle)
    ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
    : (sorted[Math.floor(middle)] as number);
}

/** Several rounds of one workload as one figure: the median of each figure, errors summed. */
export function combineRounds(rounds: readonly LoadFigures[]): LoadFigures {
  const present = (values: (number | null)[]) => values.filter((v): v is number => v !== null);
  return {
    messagesPerSecond: median(rounds.map((r) => r.messagesPerSecond)) ?? 0,
    latencyMs: {
      p50: median(present(rounds.map((r) => r.latencyMs.p50))),
      p99: median(present(rounds.map((r) => r.latencyMs.p99))),
    },
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    cpuSecondsPer1000: median(present(rounds.map((r) => r.cpuSecondsPer1000))),
  };
}

/** CPU seconds per 1,000 messages from clock ticks and the messages accepted meanwhile. */
export function cpuSecondsPer1000(ticks: number, ticksPerSecond: number, accepted: number): number | null {
  return accepted > 0 ? (ticks / ticksPerSecond / accepted) * 1000 : null;
}

function ratio(postern: LoadFigures, postfix: LoadFigures): number | null {
  return postfix.messagesPerSecond > 0 ? postern.messagesPerSecond / postfix.messagesPerSecond : null;
}

/** Errors on Postern's side fail a target outright: throughput bought with refused messages is no pass.
 *  Throughput is the ratio of the medians of the rounds, all measured in one run. */
export function judgePooled(postern: LoadFigures, postfix: LoadFigures): Verdict {
  const r = ratio(postern, postfix);
  const p99NoWorse =
    postern.latencyMs.p99 !== null &&
    postfix.latencyMs.p99 !== null &&
    postern.latencyMs.p99 <= postfix.latencyMs.p99;
  return { ratio: r, pass: r !== null && r >= TARGETS.pooledRatio && p99NoWorse && postern.errors === 0 };
}

/** Connection per message, warm (one user) or cold (every login a new user): passes only while both
 *  servers keep argon2id at the same cost, so neither wins by hashing less. */
export function judgePerMessage(
  postern: LoadFigures,
  postfix: LoadFigures,
  target: number,
  sameArgon2idCost: boolean,
): Verdict {
  const r = ratio(postern, postfix);
  return { ratio: r, pass: r !== null && r >= target && sameArgon2idCost && postern.errors === 0 };
}

export function judgeIdle(idle: IdleFigures, target: IdleTarget): Verdict {
  const allUp = idle.sessions >= target.sessions && idle.authenticated === idle.sessions && idle.errors === 0;
  return { ratio: null, pass: allUp && idle.hwmBytes <= target.rssBytes };
}

/** Large messages: every one relayed, and the peak within the target. */
export function judgeLarge(figures: LoadFigures, messages: number, hwmBytes: number): Verdict {
  return {
    ratio: null,
    pass: figures.errors === 0 && messages >= TARGETS.large.sessions && hwmBytes <= TARGETS.large.rssBytes,
  };
}

export function formatCpu(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)} s`;
}

export function formatRate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function formatMs(value: number | null): string {
  if (value === null) return "-";
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

/** Plain-text table; the first row is the header. Columns are left-aligned and padded to fit. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const [head, ...body] = rows;
  if (!head) return "";
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(head), rule, ...body.map(line)].join("\n");
}
