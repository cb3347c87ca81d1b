// Brute-force defence across connections, by slowing rather than locking. Three scopes count failures:
// - the client address (IPv4, or IPv6 /64), counting distinct user names: password spraying;
// - the user, from any address: guessing one account from many places;
// - the user at one address: one client guessing (or one misconfigured client retrying an old password).
// A penalized scope delays the attempts it applies to before any secret is checked, and lets only one of
// them run at a time; the right password still logs in once its turn comes. A lockout that anyone can
// trigger for any user name would be a way to keep that user out, and a client retrying a rotated
// password (a Postfix queue) would lock its own account; slowing bounds guessing without either.
//
// The user and address scopes do not apply where that user logged in successfully within the last week
// (its usual places stay fast while guessing from anywhere else is slowed). That table lives in this
// process only: replicas do not share it and a restart empties it, and it needs neither, because losing it
// costs a user one slowed login per replica, never a refusal. The pair scope always applies, so the
// client that earned it is the one slowed. The per-connection limit lives in the AUTH driver.
import type { BruteForceConfig } from "../config/schema.ts";
import { usernameKey } from "../credentials/users-file.ts";
import type { Metrics } from "../observability/metrics.ts";
import { addressKey, FailureWindows, type WindowPolicy } from "./failure-windows.ts";

const KNOWN_GOOD_MS = 7 * 24 * 3600 * 1000;
/** Bounds the known-good table; the oldest pairs go first. */
const MAX_KNOWN_GOOD = 100_000;

export type PenaltyScope = "address" | "user";

/** An attempt may go ahead after `waitMs`, holding its turn until `release`; or it must wait its turn. */
export type Admission = { kind: "go"; waitMs: number; release: () => void } | { kind: "busy" };

export class AuthThrottle {
  readonly #byAddress: FailureWindows;
  readonly #byUser: FailureWindows;
  readonly #byPair: FailureWindows;
  readonly #knownGood = new Map<string, number>();
  /** Scopes with an attempt under way while penalized: one at a time each. */
  readonly #turns = new Set<string>();
  readonly #metrics: Metrics | undefined;
  readonly #now: () => number;

  constructor(config: BruteForceConfig, metrics?: Metrics, now: () => number = Date.now) {
    const [address, user, pair, maxDelay] = policies(config);
    this.#byAddress = new FailureWindows(address, maxDelay, now);
    this.#byUser = new FailureWindows(user, maxDelay, now);
    this.#byPair = new FailureWindows(pair, maxDelay, now);
    this.#metrics = metrics;
    this.#now = now;
  }

  /** A reloaded bruteForce policy; the failures counted so far stay. */
  configure(config: BruteForceConfig): void {
    const [address, user, pair, maxDelay] = policies(config);
    this.#byAddress.configure(address, maxDelay);
    this.#byUser.configure(user, maxDelay);
    this.#byPair.configure(pair, maxDelay);
  }

  /** Before `username`'s secret is checked for a client at `remoteAddress`. */
  admit(username: string, remoteAddress: string): Admission {
    const address = addressKey(remoteAddress);
    const pair = pairKey(username, address);
    const known = this.#isKnownGood(pair);
    const pairWait = Math.max(
      this.#byPair.delayFor(pair),
      known ? 0 : this.#byUser.delayFor(usernameKey(username)),
    );
    const addressWait = known ? 0 : this.#byAddress.delayFor(address);
    const turns = [
      ...(pairWait > 0 ? [`pair\0${pair}`] : []),
      ...(addressWait > 0 ? [`address\0${address}`] : []),
    ];
    if (turns.some((turn) => this.#turns.has(turn))) return { kind: "busy" };
    for (const turn of turns) this.#turns.add(turn);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const turn of turns) this.#turns.delete(turn);
    };
    return { kind: "go", waitMs: Math.max(pairWait, addressWait), release };
  }

  recordSuccess(remoteAddress: string, username: string): void {
    const key = pairKey(username, addressKey(remoteAddress));
    this.#byPair.clear(key);
    this.#knownGood.delete(key); // re-insert: Map order doubles as age order
    if (this.#knownGood.size >= MAX_KNOWN_GOOD) {
      const oldest = this.#knownGood.keys().next();
      if (!oldest.done) this.#knownGood.delete(oldest.value);
    }
    this.#knownGood.set(key, this.#now());
  }

  /** Counts a refused attempt; returns the scopes whose penalty it started. */
  recordFailure(remoteAddress: string, username: string | undefined): PenaltyScope[] {
    const address = addressKey(remoteAddress);
    const user = username === undefined || username === "" ? undefined : usernameKey(username);
    const started: PenaltyScope[] = [];
    if (this.#byAddress.recordFailure(address, user)) started.push("address");
    if (user !== undefined) {
      if (this.#byUser.recordFailure(user)) started.push("user");
      this.#byPair.recordFailure(pairKey(user, address));
    }
    for (const scope of started) this.#metrics?.authLockouts.inc({ scope });
    return started;
  }

  #isKnownGood(pair: string): boolean {
    const since = this.#knownGood.get(pair);
    return since !== undefined && this.#now() - since <= KNOWN_GOOD_MS;
  }
}

/** The address, user and user-at-address policies, and the ceiling of the delay (ms). The pair is one
 *  client, so it is penalized sooner than the user as a whole — after a third of the user's failures,
 *  over the user's window: a person's typo or two costs nothing, a client guessing is slowed early. */
function policies(config: BruteForceConfig): [WindowPolicy, WindowPolicy, WindowPolicy, number] {
  const pair = { ...config.perUser, maxFailures: Math.max(1, Math.floor(config.perUser.maxFailures / 3)) };
  return [config.perAddress, config.perUser, pair, config.maxDelaySeconds * 1000];
}

function pairKey(username: string, address: string): string {
  return `${usernameKey(username)}\0${address}`;
}
