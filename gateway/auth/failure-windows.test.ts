import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { addressKey, FailureWindows, type WindowPolicy } from "./failure-windows.ts";

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

const policy: WindowPolicy = { maxFailures: 3, windowSeconds: 60, lockoutSeconds: 300 };
const MAX_DELAY = 15_000;

describe("FailureWindows", () => {
  it("does not penalize a key below maxFailures", () => {
    const windows = new FailureWindows(policy, MAX_DELAY, clock().now);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.recordFailure("alice"), false);
    assert.equal(windows.delayFor("alice"), 0);
  });

  it("penalizes on the maxFailures-th failure inside the window: 1 s, doubling per failure, up to the ceiling", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, MAX_DELAY, now);
    windows.recordFailure("alice");
    time.now += 20_000;
    windows.recordFailure("alice");
    time.now += 20_000;
    assert.equal(windows.recordFailure("alice"), true);
    const delays = [windows.delayFor("alice")];
    for (let i = 0; i < 6; i++) {
      assert.equal(windows.recordFailure("alice"), false, "one penalty, started once");
      delays.push(windows.delayFor("alice"));
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  });

  it("counts only failures inside the sliding window (a failure exactly windowSeconds old is out)", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, MAX_DELAY, now);
    windows.recordFailure("alice"); // t = 0
    time.now += 30_000;
    windows.recordFailure("alice"); // t = 30 s
    time.now += 30_000;
    assert.equal(windows.recordFailure("alice"), false, "the t = 0 failure left the window at t = 60 s");
    time.now += 1;
    assert.equal(windows.recordFailure("alice"), true, "30 s, 60 s and 60.001 s are inside one window");
  });

  it("ends the penalty exactly lockoutSeconds after it began", () => {
    const { time, now } = clock();
    const windows = new FailureWindows(policy, MAX_DELAY, now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    time.now += 299_999;
    assert.equal(windows.delayFor("alice"), 1000);
    time.now += 1;
    assert.equal(windows.delayFor("alice"), 0);
  });

  it("counts failures of one member once: an address counts distinct user names", () => {
    const windows = new FailureWindows(policy, MAX_DELAY, clock().now);
    for (let i = 0; i < 10; i++) assert.equal(windows.recordFailure("192.0.2.1", "alice"), false);
    windows.recordFailure("192.0.2.1", "bob");
    assert.equal(windows.recordFailure("192.0.2.1", "carol"), true);
  });

  it("clear forgets a key, penalty included", () => {
    const windows = new FailureWindows(policy, MAX_DELAY, clock().now);
    for (let i = 0; i < 3; i++) windows.recordFailure("alice");
    windows.clear("alice");
    assert.equal(windows.delayFor("alice"), 0);
    assert.equal(windows.recordFailure("alice"), false, "counting starts over");
  });

  it("a reloaded policy applies to what was counted before, and keeps it", () => {
    const windows = new FailureWindows(policy, MAX_DELAY, clock().now);
    windows.recordFailure("alice");
    windows.recordFailure("alice");
    windows.configure({ ...policy, maxFailures: 2 }, 4000);
    assert.equal(windows.recordFailure("alice"), true);
    for (let i = 0; i < 5; i++) windows.recordFailure("alice");
    assert.equal(windows.delayFor("alice"), 4000);
  });

  it("never holds more than maxKeys keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.string({ maxLength: 3 })), (maxKeys, keys) => {
        const windows = new FailureWindows(policy, MAX_DELAY, clock().now, maxKeys);
        for (const key of keys) {
          windows.recordFailure(key);
          assert.ok(windows.size <= maxKeys, `${windows.size} > ${maxKeys}`);
        }
      }),
    );
  });

  it("evicts a key without penalty before a penalized one when full, even if the penalized one is older", () => {
    const windows = new FailureWindows({ ...policy, maxFailures: 2 }, MAX_DELAY, clock().now, 2);
    windows.recordFailure("penalized");
    windows.recordFailure("penalized");
    windows.recordFailure("failing-once");
    windows.recordFailure("newcomer");
    assert.equal(windows.size, 2);
    assert.ok(windows.delayFor("penalized") > 0, "the penalized key survived eviction");
    assert.equal(windows.recordFailure("failing-once"), false, "its earlier failure was dropped");
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
