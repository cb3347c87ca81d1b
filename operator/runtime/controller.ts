// A controller in controller-runtime's shape: keys go into a rate-limited work queue, N workers take
// them off and run one reconcile function. Level-triggered: a reconcile gets only the key and reads
// the current state from informer caches, so many events for one key cost one reconcile.
//   error                    -> addRateLimited (per-key exponential backoff), result "error"
//   { requeue: true }        -> addRateLimited, result "requeue"
//   { requeueAfter: ms > 0 } -> forget + addAfter, result "requeue_after"
//   anything else            -> forget, result "success"
import { SpanStatusCode, trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { OperatorMetrics } from "./metrics.ts";
import { type Clock, type RateLimiter, realClock, WorkQueue } from "./queue.ts";

export type ReconcileResult = { requeue?: boolean; requeueAfter?: number } | undefined;
// biome-ignore lint/suspicious/noConfusingVoidType: reconcilers that return nothing are the common case
export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Concurrent reconciles (distinct keys only). Default 1. */
  workers?: number;
  metrics?: OperatorMetrics;
  logger?: Logger;
  rateLimiter?: RateLimiter<string>;
  clock?: Clock;
  /** Periodic re-enqueue of every key `keys()` lists (e.g. all cached objects); off unless set. */
  resync?: { periodMs: number; keys: () => Iterable<string> };
  /** Wraps each reconcile (inside the span), e.g. to add log context. */
  wrap?: (key: string, run: () => Promise<ReconcileResult>) => Promise<ReconcileResult>;
}

const tracer = trace.getTracer("postern-operator");

const RECONCILE_OUTCOMES = ["success", "error", "requeue", "requeue_after"] as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

/** What a reconcile's outcome does to the queue; pure. */
export function outcomeOf(result: ReconcileResult, failed: boolean): ReconcileOutcome {
  if (failed) return "error";
  if (result?.requeueAfter !== undefined && result.requeueAfter > 0) return "requeue_after";
  if (result?.requeue === true) return "requeue";
  return "success";
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  readonly #options: ControllerOptions;
  readonly #workers: number;
  #running: Promise<void>[] = [];
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#workers = Math.max(1, options.workers ?? 1);
    const metrics = options.metrics;
    this.queue = new WorkQueue<string>({
      name: options.name,
      ...(options.rateLimiter && { rateLimiter: options.rateLimiter }),
      clock: options.clock ?? realClock,
      ...(metrics && { metrics: (name, probe) => metrics.queueMetrics(name, probe) }),
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers (and the resync timer). Call once. */
  start(): void {
    const { metrics, resync } = this.#options;
    metrics?.maxConcurrentReconciles.set({ controller: this.name }, this.#workers);
    metrics?.activeWorkers.set({ controller: this.name }, 0);
    // As controller-runtime does: every result's series exists from the start, so rate() and the
    // reconcile-errors alert have something to work on before the first error.
    for (const result of RECONCILE_OUTCOMES)
      metrics?.reconcileTotal.inc({ controller: this.name, result }, 0);
    metrics?.reconcileErrors.inc({ controller: this.name }, 0);
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#work());
    if (resync !== undefined && resync.periodMs > 0) {
      this.#resyncTimer = setInterval(() => {
        for (const key of resync.keys()) this.queue.add(key);
      }, resync.periodMs);
      this.#resyncTimer.unref();
    }
  }

  /** Stops taking keys, lets running reconciles finish, and resolves when every worker has. */
  async stop(): Promise<void> {
    clearInterval(this.#resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.#running);
    this.#running = [];
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcileOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #reconcileOne(key: string): Promise<void> {
    const { metrics, logger, wrap, reconcile } = this.#options;
    const labels = { controller: this.name };
    metrics?.activeWorkers.inc(labels);
    const started = performance.now();
    let result: ReconcileResult;
    let failure: unknown;
    let failed = false;
    await tracer.startActiveSpan(
      `reconcile ${this.name}`,
      { attributes: { "postern.controller": this.name, "postern.reconcile.key": key } },
      async (span) => {
        try {
          const run = async (): Promise<ReconcileResult> => (await reconcile(key)) || undefined;
          result = await (wrap ? wrap(key, run) : run());
        } catch (error) {
          failed = true;
          failure = error;
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
        } finally {
          span.end();
        }
      },
    );
    metrics?.reconcileTime.observe(labels, (performance.now() - started) / 1000);
    metrics?.activeWorkers.dec(labels);
    const outcome = outcomeOf(result, failed);
    metrics?.reconcileTotal.inc({ ...labels, result: outcome });
    switch (outcome) {
      case "error":
        metrics?.reconcileErrors.inc(labels);
        logger?.error(
          { err: failure, controller: this.name, key },
          "reconcile failed; retrying with backoff",
        );
        this.queue.addRateLimited(key);
        break;
      case "requeue":
        this.queue.addRateLimited(key);
        break;
      case "requeue_after":
        this.queue.forget(key);
        this.queue.addAfter(key, result?.requeueAfter ?? 0);
        break;
      case "success":
        this.queue.forget(key);
        break;
    }
  }
}
