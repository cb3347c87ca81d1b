// Makes a failed password check take as long whatever was behind it. An unknown user is checked against
// the argon2id decoy, a wrong password against that user's own hash — which may be argon2id of another
// cost, bcrypt or SHA512-CRYPT, each with its own duration. Without padding, the time of a 535 would tell
// an attacker which names exist (and which scheme each uses).
//
// So every failure is answered no sooner than MARGIN times the slowest recent check of any hash cost the
// store holds (and the decoy's), as that floor stood when the check began, counted from then. Durations
// are measured, not assumed: each cost is timed once when first needed and again at every real check,
// keeping the last few per cost, so the floor follows the machine's load (a busy node makes every check
// slower, and the floor with it). The floor is fixed before the check: were a check's own duration part
// of its floor, a check slowed by contention (bcrypt shares its worker thread) would wait longer than the
// others, and its kind would show in the time. Only time passes while padding: no extra hashing, so
// guessing costs the gateway no more CPU.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type PasswordHash, verifyPasswordHash } from "./password-hash.ts";

/** Head-room over the slowest recent check: a check a little slower than the ones before (a GC pause,
 *  a neighbour's burst on a shared node) still finishes before the floor. */
const MARGIN = 2;
/** Recent durations kept per cost; the floor uses their maximum. */
const SAMPLES_PER_COST = 8;

export class FailureTiming {
  readonly #samples = new Map<string, number[]>();
  readonly #calibrations = new Map<string, Promise<unknown>>();

  /** Runs `check` (a verification of `hash`) and records how long it took. */
  async measure<T>(hash: PasswordHash, check: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await check();
    } finally {
      this.#record(hash.cost, performance.now() - started);
    }
  }

  /** Called as a check begins, with the hashes that could be checked (every cost the store holds, and
   *  the decoy); `pad` then resolves once a failure may be answered. */
  async begin(hashes: readonly PasswordHash[]): Promise<{ pad(): Promise<void> }> {
    // A hash whose check fails (its duration is still recorded) must not fail the checks of the others.
    await Promise.all(hashes.map((hash) => this.#calibrate(hash).catch(() => undefined)));
    const deadline = performance.now() + this.floorMs(hashes);
    return {
      async pad() {
        const wait = deadline - performance.now();
        if (wait > 0) await sleep(wait);
      },
    };
  }

  /** The current floor for these hashes, in milliseconds. */
  floorMs(hashes: readonly PasswordHash[]): number {
    let slowest = 0;
    for (const hash of hashes) slowest = Math.max(slowest, ...(this.#samples.get(hash.cost) ?? []));
    return MARGIN * slowest;
  }

  /** Times one check of a cost never measured, with a password nobody has. */
  #calibrate(hash: PasswordHash): Promise<unknown> {
    let calibration = this.#calibrations.get(hash.cost);
    if (!calibration) {
      const password = randomBytes(16).toString("base64");
      calibration = this.measure(hash, () => verifyPasswordHash(hash, password));
      this.#calibrations.set(hash.cost, calibration);
    }
    return calibration;
  }

  #record(cost: string, ms: number): void {
    const samples = this.#samples.get(cost) ?? [];
    samples.push(ms);
    if (samples.length > SAMPLES_PER_COST) samples.shift();
    this.#samples.set(cost, samples);
  }
}
