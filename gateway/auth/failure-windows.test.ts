import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { addressKey, FailureWindows, type WindowPolicy } from "./failure-windows.ts";

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

const policy: WindowPolicy = { maxFailures: 3, windowSeconds: 60, lockoutSeconds: 300 };

describe("FailureWindows", () => {
  it("does not lock a key below maxFailures", () => {
    const { now } = clock();
    const windows = new FailureWindows(policy, now);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.lockedFor("alice"), 0);
  });

  it("starts a lockout of lockoutSeconds on the maxFailures-th failure inside the window", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, now);
    windows.recordFailure("alice");
    time.now += 20_000;
    windows.recordFailure("alice");
    time.now += 20_000;
    assert.equal(windows.recordFailure("alice"), true);
    assert.equal(windows.lockedFor("alice"), 300_000);
  });

  it("counts only failures inside the sliding window (a failure exactly windowSeconds old is out)", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, now);
    windows.recordFailure("alice"); // t = 0
    time.now += 30_000;
    windows.recordFailure("alice"); // t = 30 s
    time.now += 30_000;
    assert.equal(windows.recordFailure("alice"), false, "the t = 0 failure left the window at t = 60 s");
    assert.equal(windows.lockedFor("alice"), 0);
    time.now += 1;
    assert.equal(windows.recordFailure("alice"), true, "30 s, 60 s and 60.001 s are inside one window");
  });

  it("counts down the lockout with the clock and ends it exactly at lockoutSeconds", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    time.now += 100_000;
    assert.equal(windows.lockedFor("alice"), 200_000);
    time.now += 199_999;
    assert.equal(windows.lockedFor("alice"), 1);
    time.now += 1;
    assert.equal(windows.lockedFor("alice"), 0);
  });

  it("neither restarts nor extends a lockout for failures recorded while locked", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    time.now += 1000;
    for (let i = 0; i < 5; i++) assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.lockedFor("alice"), 299_000);
  });

  it("needs a fresh run of maxFailures after a lockout, even if the lockout was shorter than the window", () => {
    const { time, now } = clock();
    const windows = new FailureWindows({ maxFailures: 3, windowSeconds: 60, lockoutSeconds: 10 }, now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    time.now += 10_000;
    assert.equal(windows.lockedFor("alice"), 0);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.recordFailure("alice"), true);
  });

  it("keeps keys independent: a locked key never locks another", () => {
    const { now } = clock();
    const windows = new FailureWindows(policy, now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    assert.ok(windows.lockedFor("alice") > 0);
    assert.equal(windows.lockedFor("bob"), 0);
    assert.equal(windows.recordFailure("bob"), false);
    assert.equal(windows.recordFailure("bob"), false);
    assert.equal(windows.lockedFor("bob"), 0);
  });

  it("property: a key's lockouts do not depend on failures recorded for other keys", () => {
    const event = fc.record({ key: fc.constantFrom("a", "b", "c"), advanceMs: fc.nat(90_000) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const mixed = clock();
        const alone = clock();
        const all = new FailureWindows(policy, mixed.now);
        const onlyA = new FailureWindows(policy, alone.now);
        for (const { key, advanceMs } of events) {
          mixed.time.now += advanceMs;
          alone.time.now += advanceMs;
          const started = all.recordFailure(key);
          if (key === "a") assert.equal(started, onlyA.recordFailure("a"));
          assert.equal(all.lockedFor("a"), onlyA.lockedFor("a"));
        }
      }),
    );
  });

  it("never holds more than maxKeys keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.string({ maxLength: 3 })), (maxKeys, keys) => {
        const windows = new FailureWindows(policy, clock().now, maxKeys);
        for (const key of keys) {
          windows.recordFailure(key);
          assert.ok(windows.size <= maxKeys, `${windows.size} > ${maxKeys}`);
        }
      }),
    );
  });

  it("evicts an unlocked key before a locked one when full, even if the locked one is older", () => {
    const { now } = clock();
    const windows = new FailureWindows({ ...policy, maxFailures: 2 }, now, 2);
    windows.recordFailure("locked");
    windows.recordFailure("locked");
    windows.recordFailure("failing-once");
    windows.recordFailure("newcomer");
    assert.equal(windows.size, 2);
    assert.ok(windows.lockedFor("locked") > 0, "the locked key survived eviction");
    assert.equal(windows.recordFailure("failing-once"), false, "its earlier failure was dropped");
  });

  it("when every key is locked, evicts the one that failed least recently", () => {
    const { now } = clock();
    const windows = new FailureWindows({ ...policy, maxFailures: 1 }, now, 3);
    windows.recordFailure("a");
    windows.recordFailure("b");
    windows.recordFailure("c");
    windows.recordFailure("a"); // a failed again: b is now the least recently failing key
    windows.recordFailure("d");
    assert.equal(windows.size, 3);
    assert.equal(windows.lockedFor("b"), 0);
    for (const key of ["a", "c", "d"]) assert.ok(windows.lockedFor(key) > 0, `${key} still locked`);
  });
});

describe("addressKey", () => {
  it("keys an IPv4 client by its address", () => {
    assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
    assert.notEqual(addressKey("192.0.2.1"), addressKey("192.0.2.2"));
  });

  it("keys an IPv4-mapped IPv6 client as the IPv4 address, in either case", () => {
    assert.equal(addressKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(addressKey("::FFFF:192.0.2.1"), "192.0.2.1");
  });

  it("groups IPv6 clients by /64, whatever the textual form", () => {
    const key = addressKey("2001:db8:1:2::1");
    assert.equal(key, "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"), key);
    assert.equal(addressKey("2001:0DB8:0001:0002:0000:0000:0000:0009"), key);
    assert.notEqual(addressKey("2001:db8:1:3::1"), key);
    assert.notEqual(addressKey("2001:db8:2:2::1"), key);
  });

  it("property: any two IPv6 addresses share a key exactly when their first 64 bits are equal", () => {
    const hextets = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    const text = (h: number[]) => h.map((x) => x.toString(16)).join(":");
    fc.assert(
      fc.property(hextets, hextets, (a, b) => {
        const samePrefix = a.slice(0, 4).join() === b.slice(0, 4).join();
        assert.equal(addressKey(text(a)) === addressKey(text(b)), samePrefix);
      }),
    );
  });
});
