// client-go's rate-limited, delaying work queue:
// - a key added any number of times while it waits is processed once (dirty set);
// - get() marks a key processing; a key added while processing waits until done(key) and is then
//   queued again, so one key is never on two workers at once;
// - addRateLimited(key) re-adds after a per-key exponential backoff, forget(key) resets it;
// - addAfter(key, ms) re-adds later, keeping the earliest time when a key is scheduled twice;
// - after shutDown() nothing is added; get() still hands out what is queued, then undefined.
import type { QueueMetrics, QueueProbe } from "./metrics.ts";

/** Time and timers, injectable so tests can step time. Milliseconds. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RateLimiter<K> {
  /** Milliseconds to wait before the next retry of `key`; counts the retry. */
  when(key: K): number;
  forget(key: K): void;
  numRequeues(key: K): number;
}

/**
 * base * 2^failures, capped at max. The defaults are controller-runtime's: 5 ms doubling up to
 * 1000 s (about 16.7 minutes).
 */
export function exponentialRateLimiter<K>(baseMs = 5, maxMs = 1_000_000): RateLimiter<K> {
  const failures = new Map<K, number>();
  return {
    when(key) {
      const exponent = failures.get(key) ?? 0;
      failures.set(key, exponent + 1);
      // 2^exponent overflows to Infinity long after it passed any sane cap; min() handles both.
      return Math.min(baseMs * 2 ** exponent, maxMs);
    },
    forget: (key) => void failures.delete(key),
    numRequeues: (key) => failures.get(key) ?? 0,
  };
}

export interface WorkQueueOptions<K> {
  /** The `name` label of the workqueue_* metrics. */
  name: string;
  rateLimiter?: RateLimiter<K>;
  clock?: Clock;
  /** Usually `operatorMetrics.queueMetrics.bind(operatorMetrics)`; given this queue's probe. */
  metrics?: (name: string, probe: QueueProbe) => QueueMetrics;
}

export class WorkQueue<K = string> {
  readonly name: string;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #clock: Clock;
  readonly #metrics: QueueMetrics | undefined;
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Map<K, number>(); // key -> when a worker took it
  readonly #addedAt = new Map<K, number>(); // key -> when it was first queued, for queue latency
  readonly #waiting = new Map<K, { readyAt: number; timer: unknown }>(); // addAfter
  readonly #getters: ((key: K | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<K>) {
    this.name = options.name;
    this.#rateLimiter = options.rateLimiter ?? exponentialRateLimiter();
    this.#clock = options.clock ?? realClock;
    this.#metrics = options.metrics?.(options.name, {
      unfinishedWorkSeconds: () => {
        const now = this.#clock.now();
        let total = 0;
        for (const started of this.#processing.values()) total += now - started;
        return total / 1000;
      },
      longestRunningProcessorSeconds: () => {
        const now = this.#clock.now();
        let longest = 0;
        for (const started of this.#processing.values()) longest = Math.max(longest, now - started);
        return longest / 1000;
      },
    });
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics?.added();
    this.#dirty.add(key);
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, this.#clock.now());
    if (this.#processing.has(key)) return; // done() queues it again
    this.#queue.push(key);
    this.#metrics?.depth(this.#queue.length);
    this.#dispatch();
  }

  /** The next key, marked processing until done(key); undefined once shut down and empty. */
  get(): Promise<K | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: K): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics?.workDuration((this.#clock.now() - started) / 1000);
    if (this.#dirty.has(key)) {
      this.#queue.push(key);
      this.#metrics?.depth(this.#queue.length);
    }
    this.#dispatch();
  }

  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing !== undefined) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { readyAt, timer });
  }

  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#metrics?.retried();
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Ends the backoff of `key`: its next failure waits the base delay again. */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** Keys waiting for a worker (not those in processing or waiting for a delay). */
  len(): number {
    return this.#queue.length;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    this.#dispatch();
  }

  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  #take(): K {
    const key = this.#queue.shift() as K;
    const now = this.#clock.now();
    this.#metrics?.depth(this.#queue.length);
    const addedAt = this.#addedAt.get(key);
    if (addedAt !== undefined) this.#metrics?.queueLatency((now - addedAt) / 1000);
    this.#addedAt.delete(key);
    this.#processing.set(key, now);
    this.#dirty.delete(key);
    return key;
  }

  // Hands queued keys straight to waiting get() calls, so a woken getter never finds the queue
  // emptied by another one.
  #dispatch(): void {
    while (this.#getters.length > 0 && this.#queue.length > 0) {
      const resolve = this.#getters.shift() as (key: K | undefined) => void;
      resolve(this.#take());
    }
    if (this.#shuttingDown && this.#queue.length === 0) {
      for (const resolve of this.#getters.splice(0)) resolve(undefined);
    }
  }
}
