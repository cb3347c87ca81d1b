// Sliding failure windows with a growing penalty, one instance per key space (client address, user name,
// user-at-address). A key that collects `maxFailures` failures within `windowSeconds` is penalized for
// `lockoutSeconds`: attempts touching it are slowed, by a delay that doubles with every further failure
// during the penalty, up to a ceiling. Slowed, never refused: a penalty anyone can earn for a key must not
// become a way to keep its owner out. Keys are independent. Pure state + an injectable clock: tested
// without sockets or timers.
import { isIPv6 } from "node:net";
import { Address6 } from "ip-address";

export interface WindowPolicy {
  maxFailures: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

interface Failure {
  at: number;
  /** What failed: failures with the same member count once (an address counts distinct user names). */
  member: string | undefined;
}

interface Entry {
  failures: Failure[]; // inside the window, oldest first
  penalizedUntil: number;
  /** Failures since the penalty began: each doubles the delay. */
  strikes: number;
}

/** The first penalized attempt waits this long; Dovecot's auth penalty starts there too. */
const FIRST_DELAY_MS = 1000;
/** Bounded so an attacker spraying random user names cannot grow memory without limit. */
const DEFAULT_MAX_KEYS = 100_000;

export class FailureWindows {
  readonly #entries = new Map<string, Entry>();
  #policy: WindowPolicy;
  #maxDelayMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(
    policy: WindowPolicy,
    maxDelayMs: number,
    now: () => number = Date.now,
    maxKeys = DEFAULT_MAX_KEYS,
  ) {
    this.#policy = policy;
    this.#maxDelayMs = maxDelayMs;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /** A reloaded policy applies from now on; what was counted so far is kept (a reload forgives nothing). */
  configure(policy: WindowPolicy, maxDelayMs: number): void {
    this.#policy = policy;
    this.#maxDelayMs = maxDelayMs;
  }

  /** How long an attempt touching `key` must wait before its secret is checked; 0 when not penalized. */
  delayFor(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry || entry.penalizedUntil <= this.#now()) return 0;
    return Math.min(this.#maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(entry.strikes, 30));
  }

  /** Records a failure; returns true when this failure started a penalty. */
  recordFailure(key: string, member?: string): boolean {
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // re-insert below: Map order doubles as least-recently-failed order
    } else {
      entry = { failures: [], penalizedUntil: 0, strikes: 0 };
      this.#evictIfFull();
    }
    this.#entries.set(key, entry);
    if (entry.penalizedUntil > now) {
      entry.strikes += 1;
      return false;
    }
    const windowStart = now - this.#policy.windowSeconds * 1000;
    entry.failures = entry.failures.filter(
      (f) => f.at > windowStart && (member === undefined || f.member !== member),
    );
    entry.failures.push({ at: now, member });
    if (entry.failures.length < this.#policy.maxFailures) return false;
    entry.penalizedUntil = now + this.#policy.lockoutSeconds * 1000;
    entry.strikes = 0;
    entry.failures = [];
    return true;
  }

  /** Forgets `key` (its owner proved itself). */
  clear(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #evictIfFull(): void {
    if (this.#entries.size < this.#maxKeys) return;
    const now = this.#now();
    // Prefer dropping keys that are not penalized; fall back to the least recently failing.
    for (const [key, entry] of this.#entries) {
      if (entry.penalizedUntil <= now) {
        this.#entries.delete(key);
        return;
      }
    }
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

/** Groups IPv6 clients by /64 (one subscriber's allocation); IPv4 and mapped IPv4 by address. */
export function addressKey(remoteAddress: string): string {
  const mapped = remoteAddress.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped?.[1]) return mapped[1];
  // isIPv6 first: Address6.isValid throws and catches internally for every IPv4 address.
  if (!isIPv6(remoteAddress) || !Address6.isValid(remoteAddress)) return remoteAddress;
  return `${new Address6(`${remoteAddress}/64`).startAddress().correctForm()}/64`;
}
