// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
// - a lease is expired when its record (holder, duration, times, transitions) has not changed for
//   leaseDuration by *this process's* clock since it first saw that record; the remote timestamps
//   are written for humans and never compared, so clock skew between nodes does not matter;
// - a candidate takes an expired (or released, holder "") lease; the holder renews every
//   retryPeriod; every write is an update with the read resourceVersion, so of two racing writers
//   one gets 409 Conflict and reads again;
// - a leader whose renewals have not succeeded for renewDeadline stops leading at once, before any
//   other candidate can see its lease expire (renewDeadline < leaseDuration); one that sees another
//   holder on the lease stops at once too;
// - releaseOnCancel: stop() writes holder "" with a 1 s duration, so a successor takes over at its
//   next retry instead of after a full lease duration.
import { HttpMethod, type KubeConfig } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { sleep } from "./backoff.ts";
import { isApiError, KubeClient } from "./client.ts";
import type { OperatorMetrics } from "./metrics.ts";

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

export interface LeaderCallbacks {
  /** This process now leads; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void;
  /** Leadership ended (lost, renew deadline passed, or stop()). Called once per term. */
  onStoppedLeading(): void;
  /** Another (or this) identity was seen holding the lease. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionOptions extends LeaderCallbacks {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Lease name; also the `name` label of leader_election_master_status. */
  name: string;
  identity: string;
  /** Default 15 s (client-go/controller-runtime). */
  leaseDurationMs?: number;
  /** Default 10 s. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** Default true. */
  releaseOnCancel?: boolean;
  metrics?: OperatorMetrics;
  logger?: Logger;
}

const jitterFactor = 1.2;

/** RFC 3339 with microseconds, as metav1.MicroTime is written: 2006-01-02T15:04:05.000000Z. */
export function formatMicroTime(epochMs: number): string {
  const wholeSeconds = Math.floor(epochMs / 1000);
  // round, not floor: 5678.901 ms is 5678900.99999 µs in binary floating point
  const micros = Math.min(Math.round((epochMs - wholeSeconds * 1000) * 1000), 999_999);
  const iso = new Date(wholeSeconds * 1000).toISOString(); // ...T15:04:05.000Z
  return `${iso.slice(0, 19)}.${String(micros).padStart(6, "0")}Z`;
}

/** Whether two records are the same observation (every field client-go compares). */
export function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    (a.holderIdentity ?? "") === (b.holderIdentity ?? "") &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}

export function validateTimings(leaseMs: number, renewMs: number, retryMs: number): void {
  if (!(leaseMs > renewMs)) throw new Error("leaseDuration must be greater than renewDeadline");
  if (!(renewMs > jitterFactor * retryMs))
    throw new Error("renewDeadline must be greater than 1.2 × retryPeriod");
  if (!(retryMs > 0)) throw new Error("retryPeriod must be positive");
}

// Wall clock with sub-millisecond resolution, for the timestamps written to the lease.
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

type Attempt = "held" | "other" | "failed";

export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  readonly #retryMs: number;
  readonly #logger: Logger;
  readonly #stop = new AbortController();
  #observed: LeaseRecord | undefined;
  #observedAt = 0; // performance.now() when #observed was first seen
  #reportedLeader: string | undefined;
  #term: AbortController | undefined; // set while leading
  #deadlineTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#leaseMs = options.leaseDurationMs ?? 15_000;
    this.#renewMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2_000;
    validateTimings(this.#leaseMs, this.#renewMs, this.#retryMs);
    this.#client = KubeClient.fromKubeConfig(options.kubeConfig);
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases/${encodeURIComponent(options.name)}`;
    this.#logger = (options.logger ?? pino({ level: "silent" })).child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    options.metrics?.leaderStatus.set({ name: options.name }, 0);
  }

  isLeader(): boolean {
    return this.#term !== undefined;
  }

  /** The holder last seen on the lease ("" when released), if any was seen. */
  leader(): string | undefined {
    return this.#observed?.holderIdentity;
  }

  /**
   * Campaigns until this process leads, then renews until it loses the lease or stop() is called.
   * Resolves when leadership has ended (or stop() came first). Call once.
   */
  run(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Stops campaigning or leading; releases the lease if releaseOnCancel. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    while (!stopped.aborted) {
      if ((await this.#tryAcquireOrRenew()) === "held") break;
      await sleep(this.#retryMs * (1 + Math.random() * (jitterFactor - 1)), stopped);
    }
    if (stopped.aborted) return;

    const term = new AbortController();
    this.#term = term;
    this.#options.metrics?.leaderStatus.set({ name: this.#options.name }, 1);
    this.#logger.info("started leading");
    this.#armDeadline();
    this.#options.onStartedLeading(term.signal);

    const renewing = AbortSignal.any([stopped, term.signal]);
    while (!renewing.aborted) {
      await sleep(this.#retryMs, renewing);
      if (renewing.aborted) break;
      const attempt = await this.#tryAcquireOrRenew(renewing);
      if (renewing.aborted) break;
      if (attempt === "held") this.#armDeadline();
      else if (attempt === "other")
        this.#stopLeading(`lease taken over by ${this.#observed?.holderIdentity}`);
      // "failed": keep trying; the deadline timer ends the term if it does not succeed in time
    }
    if (this.#term === term) {
      // still leading, so stop() ended the term
      clearTimeout(this.#deadlineTimer);
      if (this.#options.releaseOnCancel ?? true) await this.#release();
      this.#stopLeading("stopped");
    }
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#stopLeading(`no successful renewal within ${this.#renewMs} ms`),
      this.#renewMs,
    );
  }

  #stopLeading(reason: string): void {
    const term = this.#term;
    if (term === undefined) return;
    this.#term = undefined;
    clearTimeout(this.#deadlineTimer);
    this.#options.metrics?.leaderStatus.set({ name: this.#options.name }, 0);
    this.#logger.warn({ reason }, "stopped leading");
    term.abort();
    this.#options.onStoppedLeading();
  }

  // One round of client-go's tryAcquireOrRenew.
  async #tryAcquireOrRenew(signal?: AbortSignal): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.#renewMs);
    const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const identity = this.#options.identity;
    let lease: Lease;
    try {
      lease = await this.#client.get<Lease>(this.#path, { signal: requestSignal });
    } catch (error) {
      if (!isApiError(error, 404)) {
        this.#logger.warn({ err: error }, "could not read the lease");
        return "failed";
      }
      return await this.#create(requestSignal);
    }

    const record = lease.spec ?? {};
    const now = performance.now();
    if (!sameRecord(record, this.#observed)) {
      this.#observe(record, now);
    }
    const holder = record.holderIdentity ?? "";
    const durationMs = (record.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== "" && holder !== identity && this.#observedAt + durationMs > now) return "other";

    const wall = formatMicroTime(wallClockMs());
    const next: LeaseRecord =
      holder === identity
        ? { ...record, leaseDurationSeconds: this.#leaseSeconds(), renewTime: wall }
        : {
            holderIdentity: identity,
            leaseDurationSeconds: this.#leaseSeconds(),
            acquireTime: wall,
            renewTime: wall,
            leaseTransitions: (record.leaseTransitions ?? 0) + 1,
          };
    try {
      const written = await this.#client.request<Lease>(HttpMethod.PUT, this.#path, {
        body: { ...lease, spec: next },
        signal: requestSignal,
      });
      this.#count("update");
      this.#observe(written.spec ?? next, performance.now());
      return "held";
    } catch (error) {
      if (!isApiError(error, 409)) this.#logger.warn({ err: error }, "could not update the lease");
      return "failed";
    }
  }

  async #create(signal: AbortSignal): Promise<Attempt> {
    const wall = formatMicroTime(wallClockMs());
    const record: LeaseRecord = {
      holderIdentity: this.#options.identity,
      leaseDurationSeconds: this.#leaseSeconds(),
      acquireTime: wall,
      renewTime: wall,
      leaseTransitions: 0,
    };
    try {
      const created = await this.#client.request<Lease>(
        HttpMethod.POST,
        this.#path.slice(0, this.#path.lastIndexOf("/")),
        {
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.#options.name, namespace: this.#options.namespace },
            spec: record,
          },
          signal,
        },
      );
      this.#count("create");
      this.#observe(created.spec ?? record, performance.now());
      return "held";
    } catch (error) {
      // 409 AlreadyExists: another candidate created it first
      if (!isApiError(error, 409)) this.#logger.warn({ err: error }, "could not create the lease");
      return "failed";
    }
  }

  // client-go's release: holder "", 1 s duration, only if this process still holds the lease.
  async #release(): Promise<void> {
    try {
      const lease = await this.#client.get<Lease>(this.#path, { signal: AbortSignal.timeout(this.#renewMs) });
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      const wall = formatMicroTime(wallClockMs());
      await this.#client.request(HttpMethod.PUT, this.#path, {
        body: {
          ...lease,
          spec: {
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: wall,
            renewTime: wall,
            leaseTransitions: lease.spec.leaseTransitions ?? 0,
          },
        },
        signal: AbortSignal.timeout(this.#renewMs),
      });
      this.#count("update");
      this.#logger.info("released the lease");
    } catch (error) {
      this.#logger.warn({ err: error }, "could not release the lease; successors wait for it to expire");
    }
  }

  #observe(record: LeaseRecord, at: number): void {
    this.#observed = record;
    this.#observedAt = at;
    const holder = record.holderIdentity ?? "";
    if (holder !== "" && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#options.onNewLeader?.(holder);
    }
  }

  #leaseSeconds(): number {
    return Math.ceil(this.#leaseMs / 1000);
  }

  #count(verb: string): void {
    this.#options.metrics?.apiWrites.inc({ verb, resource: "leases" });
  }
}
