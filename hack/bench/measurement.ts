// The measuring window of one load run: a warm-up whose messages are not counted, then a window that
// ends after a fixed time or a fixed number of messages. Throughput and latency come from messages that
// completed inside the window; errors count whenever they happen, warm-up included, because any
// failure under load is a finding.
import { type LatencySummary, summarize } from "./latency.ts";

export interface WindowOptions {
  warmupMs: number;
  durationMs: number;
  /** Ends the window early once this many messages completed in it. */
  maxMessages?: number | undefined;
}

export interface ErrorCount {
  text: string;
  count: number;
}

export interface MeasurementResult {
  /** Accepted inside the window. */
  messages: number;
  /** Accepted at all, warm-up included: what the servers' CPU time is divided by. */
  accepted: number;
  seconds: number;
  messagesPerSecond: number;
  latencyMs: LatencySummary;
  errors: number;
  /** Distinct error texts, most frequent first. */
  errorTexts: ErrorCount[];
}

/** Failures counted by their text, so the report shows what went wrong and how often. */
export class ErrorTally {
  readonly #counts = new Map<string, number>();

  add(text: string): void {
    this.#counts.set(text, (this.#counts.get(text) ?? 0) + 1);
  }

  get total(): number {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return total;
  }

  /** Distinct texts, most frequent first. */
  counts(): ErrorCount[] {
    return [...this.#counts].map(([text, count]) => ({ text, count })).sort((a, b) => b.count - a.count);
  }
}

export class Measurement {
  readonly #windowStart: number;
  #windowEnd: number;
  readonly #maxMessages: number;
  readonly #latencies: number[] = [];
  #accepted = 0;
  readonly #errors = new ErrorTally();

  constructor(options: WindowOptions, start: number) {
    this.#windowStart = start + options.warmupMs;
    this.#windowEnd = this.#windowStart + options.durationMs;
    this.#maxMessages = options.maxMessages ?? Number.POSITIVE_INFINITY;
  }

  /** Whether sessions should start more work at `now`. */
  running(now: number): boolean {
    return now < this.#windowEnd;
  }

  /** A message accepted with a 2xx, `startedAt` and `endedAt` as the mode defines its latency. */
  success(startedAt: number, endedAt: number): void {
    this.#accepted++;
    if (endedAt < this.#windowStart || endedAt > this.#windowEnd) return;
    this.#latencies.push(endedAt - startedAt);
    if (this.#latencies.length >= this.#maxMessages) this.#windowEnd = endedAt;
  }

  /** Every session stopped at `now`: a window that ends with its work (cold logins) ends here. */
  finish(now: number): void {
    this.#windowEnd = Math.max(this.#windowStart, Math.min(this.#windowEnd, now));
  }

  /** Anything but a 2xx: a refused command, a timeout, a dropped connection. */
  failure(text: string): void {
    this.#errors.add(text);
  }

  result(): MeasurementResult {
    const seconds = (this.#windowEnd - this.#windowStart) / 1000;
    return {
      messages: this.#latencies.length,
      accepted: this.#accepted,
      seconds,
      messagesPerSecond: seconds > 0 ? this.#latencies.length / seconds : 0,
      latencyMs: summarize(this.#latencies),
      errors: this.#errors.total,
      errorTexts: this.#errors.counts(),
    };
  }
}
