// Brute-force defence across connections: failure windows per client address and per user name.
// The per-connection limit lives in the AUTH driver, which owns the connection's state.
//
// A per-user lockout is something anyone can trigger for any user name, so on its own it would let
// an attacker keep a real user locked out for ever. The lockout therefore does not apply at
// addresses (IPv4, or IPv6 /64) from which that user logged in successfully within the last week:
// the user's usual places keep working while guessing from anywhere else stays locked.
import type { BruteForceConfig } from "../config/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import { addressKey, FailureWindows } from "./failure-windows.ts";

const KNOWN_GOOD_MS = 7 * 24 * 3600 * 1000;
/** Bounds the known-good table; the oldest pairs go first. */
const MAX_KNOWN_GOOD = 100_000;

export class AuthThrottle {
  readonly #byAddress: FailureWindows;
  readonly #byUser: FailureWindows;
  readonly #knownGood = new Map<string, number>();
  readonly #metrics: Metrics | undefined;
  readonly #now: () => number;

  constructor(config: BruteForceConfig, metrics?: Metrics, now: () => number = Date.now) {
    this.#byAddress = new FailureWindows(config.perAddress, now);
    this.#byUser = new FailureWindows(config.perUser, now);
    this.#metrics = metrics;
    this.#now = now;
  }

  addressLocked(remoteAddress: string): boolean {
    return this.#byAddress.lockedFor(addressKey(remoteAddress)) > 0;
  }

  /** Whether `username` is locked out for a client at `remoteAddress`. */
  userLocked(username: string, remoteAddress: string): boolean {
    if (this.#byUser.lockedFor(username.toLowerCase()) === 0) return false;
    const since = this.#knownGood.get(pairKey(username, remoteAddress));
    return since === undefined || this.#now() - since > KNOWN_GOOD_MS;
  }

  recordSuccess(remoteAddress: string, username: string): void {
    const key = pairKey(username, remoteAddress);
    this.#knownGood.delete(key); // re-insert: Map order doubles as age order
    if (this.#knownGood.size >= MAX_KNOWN_GOOD) {
      const oldest = this.#knownGood.keys().next();
      if (!oldest.done) this.#knownGood.delete(oldest.value);
    }
    this.#knownGood.set(key, this.#now());
  }

  recordFailure(remoteAddress: string, username: string | undefined): void {
    if (this.#byAddress.recordFailure(addressKey(remoteAddress))) {
      this.#metrics?.authLockouts.inc({ scope: "address" });
    }
    if (username && this.#byUser.recordFailure(username.toLowerCase())) {
      this.#metrics?.authLockouts.inc({ scope: "user" });
    }
  }
}

function pairKey(username: string, remoteAddress: string): string {
  return `${username.toLowerCase()}\0${addressKey(remoteAddress)}`;
}
