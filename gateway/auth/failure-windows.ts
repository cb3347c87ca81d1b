// Sliding failure windows with lockout, one instance per key space (client address, user name).
// A key that collects `maxFailures` failures within `windowSeconds` is locked for `lockoutSeconds`.
// Keys are independent, so a locked user never blocks another user, and a locked address never
// blocks another address. Pure state + an injectable clock: tested without sockets or timers.

import { isIPv6 } from "node:net";
import { Address6 } from "ip-address";

export interface WindowPolicy {
  maxFailures: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

interface Entry {
  failures: number[]; // timestamps (ms) inside the window, oldest first
  lockedUntil: number;
}

/** Bounded so an attacker spraying random user names cannot grow memory without limit. */
const DEFAULT_MAX_KEYS = 100_000;

export class FailureWindows {
  readonly #entries = new Map<string, Entry>();
  readonly #policy: WindowPolicy;
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(policy: WindowPolicy, now: () => number = Date.now, maxKeys = DEFAULT_MAX_KEYS) {
    this.#policy = policy;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /** Milliseconds until `key` is unlocked, or 0 when it is not locked. */
  lockedFor(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.lockedUntil - this.#now());
  }

  /** Records a failure; returns true when this failure started a lockout. */
  recordFailure(key: string): boolean {
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // re-insert below: Map order doubles as least-recently-failed order
    } else {
      entry = { failures: [], lockedUntil: 0 };
      this.#evictIfFull();
    }
    this.#entries.set(key, entry);
    const windowStart = now - this.#policy.windowSeconds * 1000;
    entry.failures = entry.failures.filter((t) => t > windowStart);
    entry.failures.push(now);
    if (entry.failures.length >= this.#policy.maxFailures && entry.lockedUntil <= now) {
      entry.lockedUntil = now + this.#policy.lockoutSeconds * 1000;
      entry.failures = [];
      return true;
    }
    return false;
  }

  get size(): number {
    return this.#entries.size;
  }

  #evictIfFull(): void {
    if (this.#entries.size < this.#maxKeys) return;
    const now = this.#now();
    // Prefer dropping keys that are neither locked nor recently failing; fall back to the oldest.
    for (const [key, entry] of this.#entries) {
      if (entry.lockedUntil <= now) {
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
