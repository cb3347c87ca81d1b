import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { RateLimit } from "./rate-limit-schema.ts";
import { RateLimiter } from "./rate-limiter.ts";

function setup() {
  const time = { now: 1_000_000 };
  return { time, limiter: new RateLimiter(() => time.now) };
}

const twoMessages: RateLimit = { messages: 2, windowSeconds: 60 };
const fiveRecipients: RateLimit = { recipients: 5, windowSeconds: 60 };

describe("RateLimiter messages", () => {
  it("allows messages until the limit is recorded inside the window", () => {
    const { limiter } = setup();
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: true });
    limiter.record("alice", 1);
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: true });
    limiter.record("alice", 1);
    assert.equal(limiter.checkMessage("alice", twoMessages).ok, false);
  });

  it("allows again once the oldest message leaves the window, exactly windowSeconds later", () => {
    const { limiter, time } = setup();
    limiter.record("alice", 1);
    time.now += 30_000;
    limiter.record("alice", 1);
    time.now += 29_999;
    assert.equal(limiter.checkMessage("alice", twoMessages).ok, false);
    time.now += 1;
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: true });
  });

  it("says when the oldest message in the window expires, rounded up to whole seconds", () => {
    const { limiter, time } = setup();
    limiter.record("alice", 1);
    time.now += 10_000;
    limiter.record("alice", 1);
    time.now += 19_800; // the first message expires 30.2 s from now
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: false, retryAfterSeconds: 31 });
    time.now += 30_000; // 0.2 s left
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: false, retryAfterSeconds: 1 });
  });

  it("counts only recorded messages: checks alone never use up the allowance", () => {
    const { limiter } = setup();
    for (let i = 0; i < 10; i++) assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: true });
    limiter.record("alice", 1);
    assert.deepEqual(limiter.checkMessage("alice", twoMessages), { ok: true });
  });

  it("never limits messages when the limit sets none", () => {
    const { limiter } = setup();
    for (let i = 0; i < 50; i++) limiter.record("alice", 1);
    assert.deepEqual(limiter.checkMessage("alice", fiveRecipients), { ok: true });
  });

  it("keeps users apart", () => {
    const { limiter } = setup();
    limiter.record("alice", 1);
    limiter.record("alice", 1);
    assert.equal(limiter.checkMessage("alice", twoMessages).ok, false);
    assert.deepEqual(limiter.checkMessage("bob", twoMessages), { ok: true });
  });

  it("property: a message is allowed exactly when fewer than `messages` were recorded in the last window", () => {
    const step = fc.record({ advanceMs: fc.nat(40_000), record: fc.boolean() });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 40 }), (messages, steps) => {
        const { limiter, time } = setup();
        const limit = { messages, windowSeconds: 60 };
        const recorded: number[] = [];
        for (const { advanceMs, record } of steps) {
          time.now += advanceMs;
          const inWindow = recorded.filter((at) => at > time.now - 60_000).length;
          assert.equal(limiter.checkMessage("alice", limit).ok, inWindow < messages);
          if (record) {
            limiter.record("alice", 1);
            recorded.push(time.now);
          }
        }
      }),
    );
  });
});

describe("RateLimiter recipients", () => {
  it("allows one more recipient only while used + pending stays below the limit", () => {
    const { limiter } = setup();
    limiter.record("alice", 3);
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 0), { ok: true });
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 1), { ok: true }); // would be the 5th
    assert.equal(limiter.checkRecipient("alice", fiveRecipients, 2).ok, false); // would be the 6th
  });

  it("sums recipients over every message in the window and frees them as messages expire", () => {
    const { limiter, time } = setup();
    limiter.record("alice", 2);
    time.now += 20_000;
    limiter.record("alice", 3);
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 0), {
      ok: false,
      retryAfterSeconds: 40,
    });
    time.now += 40_000;
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 1), { ok: true });
    assert.equal(limiter.checkRecipient("alice", fiveRecipients, 2).ok, false);
  });

  it("does not count pending recipients of a transaction that was never recorded", () => {
    const { limiter } = setup();
    assert.equal(limiter.checkRecipient("alice", fiveRecipients, 5).ok, false);
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 0), { ok: true });
    assert.deepEqual(limiter.checkRecipient("alice", fiveRecipients, 4), { ok: true });
  });

  it("refuses a transaction whose own recipients reach the limit, with a retry of one whole window", () => {
    const { limiter } = setup();
    assert.deepEqual(limiter.checkRecipient("alice", { recipients: 1, windowSeconds: 60 }, 1), {
      ok: false,
      retryAfterSeconds: 60,
    });
  });

  it("never limits recipients when the limit sets none", () => {
    const { limiter } = setup();
    limiter.record("alice", 10_000);
    assert.deepEqual(limiter.checkRecipient("alice", twoMessages, 10_000), { ok: true });
  });
});

describe("RateLimiter memory bound", () => {
  it("forgets the least recently added user once 100 000 users are tracked", () => {
    const { limiter } = setup();
    const one: RateLimit = { messages: 1, windowSeconds: 3600 };
    for (let i = 0; i < 100_000; i++) limiter.record(`user${i}`, 1);
    assert.equal(limiter.checkMessage("user0", one).ok, false, "the 100 000th user still fits");
    limiter.record("newcomer", 1);
    assert.deepEqual(limiter.checkMessage("user0", one), { ok: true }, "user0 was evicted");
    assert.equal(limiter.checkMessage("user1", one).ok, false);
    assert.equal(limiter.checkMessage("newcomer", one).ok, false);
  });
});
