// An unknown user and a wrong password must be indistinguishable in time whichever scheme and cost the
// user's hash has. Measured, not argued: a few hundred failures of each kind against one store, their
// durations compared with a two-sample Kolmogorov–Smirnov test.
//
// Robust on a noisy shared 2-core machine because: the kinds are drawn interleaved from one queue, so a
// neighbour's burst slows all of them alike; the test is distribution-free (no normality assumed); and the
// bound is loose where it can afford to be — α = 10⁻⁴ — because without padding the samples are disjoint
// (D ≈ 1: the decoy argon2id takes ~10x bcrypt cost 8's time and more than SHA512-CRYPT's), far above the
// critical value (≈ 0.22 for 200 against 200). Eight workers keep the padding waits overlapping, so the
// 800 tries take about a minute.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import argon2 from "@node-rs/argon2";
import bcrypt from "bcryptjs";
import * as unixcrypt from "unixcrypt";
import { ksCritical, ksStatistic, quantile } from "../testing/statistics.ts";
import { FailureTiming } from "./failure-timing.ts";
import { parsePasswordHash, verifyPasswordHash } from "./password-hash.ts";
import { CredentialStore } from "./store.ts";
import { type UsersFileInput, usersFileSchema } from "./users-file.ts";

const TRIES = 200;
const STREAMS = 8;
const ALPHA = 1e-4;

async function hashes() {
  const password = "the-right-one";
  return {
    // Costlier than the decoy (m=19456,t=2): a wrong password would be slower than an unknown user.
    "argon2id m=47104,t=1": `{ARGON2ID}${await argon2.hash(password, { memoryCost: 47104, timeCost: 1, parallelism: 1 })}`,
    "{BLF-CRYPT} cost 8": `{BLF-CRYPT}${bcrypt.hashSync(password, 8)}`,
    "{SHA512-CRYPT} 5000 rounds": `{SHA512-CRYPT}${unixcrypt.encrypt(password, "$6$rounds=5000$c2FsdHNhbHQ")}`,
  };
}

function storeOf(kinds: Record<string, string>, timing: FailureTiming): CredentialStore {
  const input: UsersFileInput = {
    users: Object.values(kinds).map((stored, i) => ({
      username: `user${i}@example.test`,
      senders: [],
      verifiers: { password: stored },
    })),
  };
  return new CredentialStore(usersFileSchema.parse(input), { timing });
}

/** Runs `tries` from one queue on STREAMS concurrent workers; returns each try's duration in ms. */
async function timeAll(tries: (() => Promise<unknown>)[]): Promise<number[]> {
  const durations = new Array<number>(tries.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tries.length; i = next++) {
      const started = performance.now();
      await tries[i]?.();
      durations[i] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: STREAMS }, worker));
  return durations;
}

describe("failure timing", () => {
  it("unknown user vs wrong password: the same time distribution for every scheme and cost", async (t) => {
    const kinds = await hashes();
    const store = storeOf(kinds, new FailureTiming());
    const names = Object.keys(kinds);
    // Warm-up: the decoy is made on first use and every cost is timed once.
    await store.verifyPassword("warm-up@example.test", "x");
    const tries: (() => Promise<unknown>)[] = [];
    const label: string[] = [];
    for (let round = 0; round < TRIES; round++) {
      tries.push(() => store.verifyPassword(`nobody-${round}@example.test`, "guess"));
      label.push("unknown");
      names.forEach((kind, i) => {
        tries.push(() => store.verifyPassword(`user${i}@example.test`, `guess-${round}`));
        label.push(kind);
      });
    }
    const durations = await timeAll(tries);
    const sample = (kind: string) => durations.filter((_, i) => label[i] === kind);
    const unknown = sample("unknown");
    const critical = ksCritical(TRIES, TRIES, ALPHA);
    const figure = (xs: number[]) =>
      `median ${quantile(xs, 0.5).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms`;
    t.diagnostic(`unknown user: ${figure(unknown)}; KS critical value ${critical.toFixed(3)}`);
    for (const kind of names) {
      const wrong = sample(kind);
      const d = ksStatistic(wrong, unknown);
      t.diagnostic(`${kind} wrong password: ${figure(wrong)}; KS D = ${d.toFixed(3)}`);
      assert.ok(d < critical, `${kind}: D = ${d.toFixed(3)} >= ${critical.toFixed(3)}`);
    }
  });

  it("fixes the floor when a check begins: the check's own duration counts only for later ones", async () => {
    const timing = new FailureTiming();
    const hash = parsePasswordHash(`{SHA512-CRYPT}${unixcrypt.encrypt("x", "$6$rounds=1000$c2FsdA")}`);
    await (await timing.begin([hash])).pad(); // calibrated: a check of this cost takes a few ms
    const padding = await timing.begin([hash]);
    await timing.measure(hash, () => new Promise((resolve) => setTimeout(resolve, 150))); // a slow one
    const started = performance.now();
    await padding.pad();
    assert.ok(performance.now() - started < 50, "its floor was set before it ran");
    assert.ok(timing.floorMs([hash]) >= 290, "later checks wait for twice its time");
  });

  it("a hash whose check throws does not fail the checks that wait on its calibration", async () => {
    const timing = new FailureTiming();
    const good = parsePasswordHash(`{SHA512-CRYPT}${unixcrypt.encrypt("x", "$6$rounds=1000$c2FsdA")}`);
    // Not loadable (parsePasswordHash refuses the leading zero), so made by hand: the verifier throws.
    const broken = { ...good, scheme: "argon2id", cost: "argon2id m=47104,t=1,p=1" } as const;
    const digest = `$argon2id$v=19$m=047104,t=1,p=1$/4gUplKGIWulcBqCd4+vLQ$${"A".repeat(43)}`;
    const throwing = { ...broken, stored: digest, digest };
    for (let i = 0; i < 2; i++) {
      const padding = await timing.begin([good, throwing]);
      await padding.pad();
    }
    assert.ok(timing.floorMs([good]) > 0, "the good cost was measured");
    await assert.rejects(timing.measure(throwing, () => verifyPasswordHash(throwing, "x")));
  });

  it("pads to twice the slowest recent check of any cost the store holds, and measures every check", async () => {
    const timing = new FailureTiming();
    const fast = parsePasswordHash(`{SHA512-CRYPT}${unixcrypt.encrypt("x", "$6$rounds=1000$c2FsdA")}`);
    const slow = parsePasswordHash(`{BLF-CRYPT}${bcrypt.hashSync("x", 8)}`);
    await timing.measure(slow, () => new Promise((resolve) => setTimeout(resolve, 60)));
    const started = performance.now();
    await (await timing.begin([fast, slow])).pad();
    const waited = performance.now() - started;
    assert.ok(timing.floorMs([fast, slow]) >= 110, `floor ${timing.floorMs([fast, slow])}`);
    assert.ok(waited >= 110, `a failure needing only the fast hash still waited ${waited.toFixed(1)} ms`);
    assert.ok(timing.floorMs([fast]) < timing.floorMs([fast, slow]), "a store without the slow cost");
  });
});
