// Brute-force defence across connections: failure windows per client address and per user name.
// The per-connection limit lives in the AUTH driver, which owns the connection's state.
import type { BruteForceConfig } from "../config/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import { addressKey, FailureWindows } from "./failure-windows.ts";

export class AuthThrottle {
  readonly #byAddress: FailureWindows;
  readonly #byUser: FailureWindows;
  readonly #metrics: Metrics | undefined;

  constructor(config: BruteForceConfig, metrics?: Metrics, now: () => number = Date.now) {
    this.#byAddress = new FailureWindows(config.perAddress, now);
    this.#byUser = new FailureWindows(config.perUser, now);
    this.#metrics = metrics;
  }

  addressLocked(remoteAddress: string): boolean {
    return this.#byAddress.lockedFor(addressKey(remoteAddress)) > 0;
  }

  userLocked(username: string): boolean {
    return this.#byUser.lockedFor(username.toLowerCase()) > 0;
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
