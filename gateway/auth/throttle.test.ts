import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BruteForceConfig } from "../config/schema.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { type Admission, AuthThrottle } from "./throttle.ts";

const HOME = "198.51.100.20";
const ATTACKER = "192.0.2.1";

const config: BruteForceConfig = {
  maxFailuresPerConnection: 3,
  failureDelaySeconds: 0,
  maxDelaySeconds: 15,
  perAddress: { maxFailures: 5, windowSeconds: 300, lockoutSeconds: 900 },
  perUser: { maxFailures: 3, windowSeconds: 300, lockoutSeconds: 600 },
};

function setup(c: BruteForceConfig = config) {
  const time = { now: 1_000_000 };
  const metrics = createMetrics({ defaultMetrics: false });
  const throttle = new AuthThrottle(c, metrics, () => time.now);
  return { time, metrics, throttle };
}

/** The scopes that started lockouts (every scope is exposed from 0). */
async function lockouts(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.authLockouts.get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [String(v.labels.scope), v.value]));
}

/** The wait an attempt would get, releasing its turn at once; "busy" when it would be refused. */
function waitOf(admission: Admission): number | "busy" {
  if (admission.kind === "busy") return "busy";
  admission.release();
  return admission.waitMs;
}

describe("AuthThrottle", () => {
  it("lets attempts through without delay until something failed", () => {
    const { throttle } = setup();
    assert.equal(waitOf(throttle.admit("alice", ATTACKER)), 0);
  });

  it("slows one client guessing one user after a third of perUser.maxFailures, doubling up to maxDelaySeconds", () => {
    const { throttle } = setup(); // perUser.maxFailures 3: the pair is penalized from its first failure
    throttle.recordFailure(ATTACKER, "alice");
    assert.equal(waitOf(throttle.admit("alice", HOME)), 0, "the same user elsewhere is not slowed");
    assert.equal(waitOf(throttle.admit("bob", ATTACKER)), 0, "another user from there is not slowed");
    const waits = [waitOf(throttle.admit("alice", ATTACKER))];
    for (let i = 0; i < 6; i++) {
      throttle.recordFailure(ATTACKER, "alice");
      waits.push(waitOf(throttle.admit("alice", ATTACKER)));
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    const lenient = setup({ ...config, perUser: { ...config.perUser, maxFailures: 9 } }).throttle;
    for (let i = 0; i < 2; i++) lenient.recordFailure(ATTACKER, "alice");
    assert.equal(waitOf(lenient.admit("alice", ATTACKER)), 0, "two typos of nine allowed cost nothing");
    lenient.recordFailure(ATTACKER, "alice");
    assert.equal(waitOf(lenient.admit("alice", ATTACKER)), 1000);
  });

  it("slows a user guessed from many addresses everywhere but where it logged in before; never refuses it", async () => {
    const { throttle, metrics } = setup();
    throttle.recordSuccess(HOME, "alice");
    for (const address of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) throttle.recordFailure(address, "alice");
    assert.equal(waitOf(throttle.admit("alice", "203.0.113.9")), 1000);
    assert.equal(waitOf(throttle.admit("ALICE", HOME)), 0, "its usual address is exempt, in any spelling");
    assert.deepEqual(await lockouts(metrics), { user: 1 });
  });

  it("slows an address spraying distinct user names, but not a known user at that address", async () => {
    const { throttle, metrics } = setup();
    throttle.recordSuccess(ATTACKER, "carol"); // carol shares the address (a NAT), and logged in before
    for (let i = 0; i < 5; i++) throttle.recordFailure(ATTACKER, `user${i}`);
    assert.equal(waitOf(throttle.admit("someone-new", ATTACKER)), 1000);
    assert.equal(waitOf(throttle.admit("carol", ATTACKER)), 0);
    assert.deepEqual(await lockouts(metrics), { address: 1 });
  });

  it("counts one user's repeated failures from one address once towards the address", () => {
    const { throttle } = setup({ ...config, perUser: { ...config.perUser, maxFailures: 1000 } });
    for (let i = 0; i < 50; i++) throttle.recordFailure(ATTACKER, "alice");
    assert.equal(
      waitOf(throttle.admit("bob", ATTACKER)),
      0,
      "a client retrying one old password is no sprayer",
    );
  });

  it("runs one penalized attempt per user-at-address at a time; the next waits its turn", () => {
    const { throttle } = setup();
    throttle.recordFailure(ATTACKER, "alice");
    const first = throttle.admit("alice", ATTACKER);
    assert.equal(first.kind, "go");
    assert.equal(throttle.admit("alice", ATTACKER).kind, "busy");
    assert.equal(waitOf(throttle.admit("alice", HOME)), 0, "another address has its own turn");
    if (first.kind === "go") first.release();
    assert.equal(waitOf(throttle.admit("alice", ATTACKER)), 1000);
  });

  it("a success forgets the user-at-address penalty: a client that fixed its password is fast again", () => {
    const { throttle } = setup();
    for (let i = 0; i < 2; i++) throttle.recordFailure(HOME, "alice");
    assert.equal(waitOf(throttle.admit("alice", HOME)), 2000);
    throttle.recordSuccess(HOME, "alice");
    assert.equal(waitOf(throttle.admit("alice", HOME)), 0);
  });

  it("keys user names by the one identity key: case and Unicode spellings share one count", () => {
    const { throttle } = setup();
    throttle.recordFailure("192.0.2.1", "Jos\u00e9");
    throttle.recordFailure("192.0.2.2", "JOSE\u0301");
    throttle.recordFailure("192.0.2.3", "jos\u00e9");
    assert.equal(waitOf(throttle.admit("jose\u0301", "203.0.113.9")), 1000);
  });

  it("shares one address across an IPv6 /64 and across IPv4 and its mapped form", () => {
    const { throttle } = setup();
    for (let i = 1; i <= 5; i++) throttle.recordFailure(`2001:db8:1:2::${i}`, `user${i}`);
    assert.equal(waitOf(throttle.admit("x", "2001:db8:1:2:aaaa::1")), 1000);
    assert.equal(waitOf(throttle.admit("x", "2001:db8:1:3::1")), 0);
    for (let i = 0; i < 5; i++) throttle.recordFailure(i % 2 ? "::ffff:192.0.2.7" : "192.0.2.7", `u${i}`);
    assert.equal(waitOf(throttle.admit("x", "::ffff:192.0.2.7")), 1000);
  });

  it("takes a reloaded policy without forgetting what it counted", () => {
    const { throttle } = setup();
    for (const address of ["192.0.2.1", "192.0.2.2"]) throttle.recordFailure(address, "alice");
    throttle.configure({ ...config, perUser: { ...config.perUser, maxFailures: 3 }, maxDelaySeconds: 1 });
    throttle.recordFailure("192.0.2.3", "alice");
    for (let i = 0; i < 4; i++) throttle.recordFailure("192.0.2.3", "alice");
    assert.equal(waitOf(throttle.admit("alice", "203.0.113.9")), 1000, "capped at the new ceiling");
  });

  it("works without metrics", () => {
    const throttle = new AuthThrottle(config);
    for (let i = 0; i < 3; i++) throttle.recordFailure(ATTACKER, "alice");
    assert.equal(waitOf(throttle.admit("alice", "203.0.113.9")), 1000);
  });
});
