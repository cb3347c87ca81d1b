import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BruteForceConfig } from "../config/schema.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { AuthThrottle } from "./throttle.ts";

/** A client address that never logged anyone in. */
const ELSEWHERE = "203.0.113.50";

const config: BruteForceConfig = {
  maxFailuresPerConnection: 3,
  failureDelaySeconds: 0,
  perAddress: { maxFailures: 5, windowSeconds: 300, lockoutSeconds: 900 },
  perUser: { maxFailures: 3, windowSeconds: 300, lockoutSeconds: 600 },
};

function setup() {
  const time = { now: 1_000_000 };
  const metrics = createMetrics({ defaultMetrics: false });
  const throttle = new AuthThrottle(config, metrics, () => time.now);
  return { time, metrics, throttle };
}

async function lockouts(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.authLockouts.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.scope), v.value]));
}

describe("AuthThrottle", () => {
  it("locks an address after perAddress.maxFailures, whichever user names were tried", async () => {
    const { throttle, metrics } = setup();
    for (let i = 0; i < 4; i++) throttle.recordFailure("192.0.2.1", `user${i}`);
    assert.equal(throttle.addressLocked("192.0.2.1"), false);
    throttle.recordFailure("192.0.2.1", "user4");
    assert.equal(throttle.addressLocked("192.0.2.1"), true);
    assert.equal(throttle.addressLocked("192.0.2.2"), false);
    assert.deepEqual(await lockouts(metrics), { address: 1 });
  });

  it("locks a user after perUser.maxFailures, whichever addresses they came from", async () => {
    const { throttle, metrics } = setup();
    throttle.recordFailure("192.0.2.1", "alice");
    throttle.recordFailure("198.51.100.7", "alice");
    assert.equal(throttle.userLocked("alice", ELSEWHERE), false);
    throttle.recordFailure("2001:db8::1", "alice");
    assert.equal(throttle.userLocked("alice", ELSEWHERE), true);
    for (const address of ["192.0.2.1", "198.51.100.7", "2001:db8::1"]) {
      assert.equal(throttle.addressLocked(address), false);
    }
    assert.deepEqual(await lockouts(metrics), { user: 1 });
  });

  it("never lets a locked user block another user, even from the same address", () => {
    const { throttle } = setup();
    for (let i = 0; i < 3; i++) throttle.recordFailure("192.0.2.1", "alice");
    assert.equal(throttle.userLocked("alice", ELSEWHERE), true);
    assert.equal(throttle.userLocked("bob", ELSEWHERE), false);
    throttle.recordFailure("192.0.2.9", "bob");
    throttle.recordFailure("192.0.2.9", "bob");
    assert.equal(throttle.userLocked("bob", ELSEWHERE), false, "bob's own failures count from zero");
  });

  it("treats user names case-insensitively", () => {
    const { throttle } = setup();
    throttle.recordFailure("192.0.2.1", "Alice");
    throttle.recordFailure("192.0.2.2", "ALICE");
    throttle.recordFailure("192.0.2.3", "alice");
    assert.equal(throttle.userLocked("aLiCe", ELSEWHERE), true);
  });

  it("counts a failure without a user name against the address only", async () => {
    const { throttle, metrics } = setup();
    for (let i = 0; i < 5; i++) throttle.recordFailure("192.0.2.1", undefined);
    assert.equal(throttle.addressLocked("192.0.2.1"), true);
    assert.deepEqual(await lockouts(metrics), { address: 1 });
  });

  it("shares one address lockout across an IPv6 /64 and across IPv4 and its mapped form", () => {
    const { throttle } = setup();
    for (let i = 1; i <= 5; i++) throttle.recordFailure(`2001:db8:1:2::${i}`, undefined);
    assert.equal(throttle.addressLocked("2001:db8:1:2:aaaa::1"), true);
    assert.equal(throttle.addressLocked("2001:db8:1:3::1"), false);
    for (let i = 0; i < 5; i++) throttle.recordFailure(i % 2 ? "::ffff:192.0.2.1" : "192.0.2.1", undefined);
    assert.equal(throttle.addressLocked("192.0.2.1"), true);
    assert.equal(throttle.addressLocked("::ffff:192.0.2.1"), true);
  });

  it("counts each lockout once in the metric, not every failure while locked", async () => {
    const { throttle, metrics } = setup();
    for (let i = 0; i < 10; i++) throttle.recordFailure("192.0.2.1", "alice");
    assert.deepEqual(await lockouts(metrics), { address: 1, user: 1 });
  });

  it("lifts each lockout when its own lockoutSeconds have passed", () => {
    const { throttle, time } = setup();
    for (let i = 0; i < 5; i++) throttle.recordFailure("192.0.2.1", "alice");
    time.now += 600_000;
    assert.equal(throttle.userLocked("alice", ELSEWHERE), false);
    assert.equal(throttle.addressLocked("192.0.2.1"), true);
    time.now += 300_000;
    assert.equal(throttle.addressLocked("192.0.2.1"), false);
  });

  it("works without metrics", () => {
    const throttle = new AuthThrottle(config);
    for (let i = 0; i < 5; i++) throttle.recordFailure("192.0.2.1", "alice");
    assert.equal(throttle.addressLocked("192.0.2.1"), true);
    assert.equal(throttle.userLocked("alice", ELSEWHERE), true);
  });

  it("a locked user can still log in from an address they recently logged in from", () => {
    const { throttle } = setup();
    throttle.recordSuccess("198.51.100.20", "alice");
    for (let i = 0; i < 3; i++) throttle.recordFailure("192.0.2.1", "alice");
    assert.equal(throttle.userLocked("alice", ELSEWHERE), true);
    assert.equal(throttle.userLocked("alice", "192.0.2.1"), true, "the attacker's address stays locked");
    assert.equal(throttle.userLocked("ALICE", "198.51.100.20"), false, "alice's usual address is exempt");
  });
});
