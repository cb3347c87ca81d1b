import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { hashPassword, parsePasswordHash, verifyPasswordHash } from "./password-hash.ts";
import { DEFAULT_CACHE_TTL_MS, VerifiedCache } from "./verified-cache.ts";

/** A slow verifier that knows one password per stored hash and counts its calls. */
function countingVerifier(rightPassword: string) {
  const counter = { calls: 0 };
  const verify = (password: string) => async () => {
    counter.calls++;
    return password === rightPassword;
  };
  return { counter, verify };
}

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe("VerifiedCache", () => {
  it("answers a repeated right password without calling the slow verifier", async () => {
    const cache = new VerifiedCache();
    const { counter, verify } = countingVerifier("right");
    assert.equal(await cache.verify("alice", "$hash1", "right", verify("right")), true);
    assert.equal(await cache.verify("alice", "$hash1", "right", verify("right")), true);
    assert.equal(await cache.verify("alice", "$hash1", "right", verify("right")), true);
    assert.equal(counter.calls, 1);
  });

  it("makes a second argon2id verification of the right password over 10x faster", async () => {
    const cache = new VerifiedCache();
    const hash = parsePasswordHash(await hashPassword("s3cret"));
    const timed = async () => {
      const start = performance.now();
      assert.equal(
        await cache.verify("alice", hash.stored, "s3cret", () => verifyPasswordHash(hash, "s3cret")),
        true,
      );
      return performance.now() - start;
    };
    const slow = await timed();
    const fast = Math.max(...[await timed(), await timed(), await timed()]);
    assert.ok(fast * 10 < slow, `cached ${fast.toFixed(3)} ms vs full ${slow.toFixed(3)} ms`);
  });

  it("never caches a failure: every wrong password pays the slow check", async () => {
    const cache = new VerifiedCache();
    const { counter, verify } = countingVerifier("right");
    for (let attempt = 0; attempt < 5; attempt++) {
      assert.equal(await cache.verify("alice", "$hash1", "wrong", verify("wrong")), false);
    }
    assert.equal(counter.calls, 5);
    assert.equal(cache.size, 0);
  });

  it("does not let a cached right password vouch for a different (wrong) one", async () => {
    const cache = new VerifiedCache();
    const { counter, verify } = countingVerifier("right");
    await cache.verify("alice", "$hash1", "right", verify("right"));
    assert.equal(await cache.verify("alice", "$hash1", "righ", verify("righ")), false);
    assert.equal(counter.calls, 2);
  });

  it("is bound to the stored hash: a rotated password invalidates the entry", async () => {
    const cache = new VerifiedCache();
    const { counter, verify } = countingVerifier("old");
    await cache.verify("alice", "$old-hash", "old", verify("old"));
    // After rotation the old password is checked against the new hash (and fails), not served from cache.
    assert.equal(await cache.verify("alice", "$new-hash", "old", async () => false), false);
    assert.equal(counter.calls, 1);
    const after = countingVerifier("new");
    assert.equal(await cache.verify("alice", "$new-hash", "new", after.verify("new")), true);
    assert.equal(after.counter.calls, 1);
  });

  it("keys entries by user: another user with the same hash string and password is verified", async () => {
    const cache = new VerifiedCache();
    const { counter, verify } = countingVerifier("pw");
    await cache.verify("alice", "$hash", "pw", verify("pw"));
    await cache.verify("bob", "$hash", "pw", verify("pw"));
    assert.equal(counter.calls, 2);
  });

  it("expires entries after the TTL (15 minutes by default) measured from the slow check", async () => {
    const { time, now } = clock();
    const cache = new VerifiedCache({ now });
    const { counter, verify } = countingVerifier("pw");
    await cache.verify("alice", "$hash", "pw", verify("pw"));
    time.now += DEFAULT_CACHE_TTL_MS - 1;
    await cache.verify("alice", "$hash", "pw", verify("pw"));
    assert.equal(counter.calls, 1, "still fresh one millisecond before the TTL");
    time.now += 1;
    await cache.verify("alice", "$hash", "pw", verify("pw"));
    assert.equal(counter.calls, 2, "hits do not extend the TTL");
    assert.equal(DEFAULT_CACHE_TTL_MS, 15 * 60 * 1000);
  });

  it("erases expired entries of idle users on a later check", async () => {
    const { time, now } = clock();
    const cache = new VerifiedCache({ now, ttlMs: 1000 });
    await cache.verify("idle", "$hash", "pw", async () => true);
    time.now += 120_000;
    await cache.verify("active", "$hash", "pw", async () => true);
    assert.equal(cache.size, 1);
  });

  it("holds at most maxEntries users, dropping the least recently used", async () => {
    const cache = new VerifiedCache({ maxEntries: 2 });
    const { counter, verify } = countingVerifier("pw");
    await cache.verify("a", "$h", "pw", verify("pw"));
    await cache.verify("b", "$h", "pw", verify("pw"));
    await cache.verify("a", "$h", "pw", verify("pw")); // a is now the most recently used
    await cache.verify("c", "$h", "pw", verify("pw")); // evicts b
    assert.equal(cache.size, 2);
    assert.equal(counter.calls, 3);
    await cache.verify("a", "$h", "pw", verify("pw"));
    await cache.verify("c", "$h", "pw", verify("pw"));
    assert.equal(counter.calls, 3, "a and c are still cached");
    await cache.verify("b", "$h", "pw", verify("pw"));
    assert.equal(counter.calls, 4, "b was evicted");
  });

  it("refuses nonsensical bounds", () => {
    assert.throws(() => new VerifiedCache({ maxEntries: 0 }), RangeError);
    assert.throws(() => new VerifiedCache({ ttlMs: 0 }), RangeError);
  });

  it("property: the answer always equals the slow verifier's, whatever the sequence", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            user: fc.constantFrom("a", "b", "c"),
            hash: fc.constantFrom("$1", "$2"),
            password: fc.constantFrom("x", "y", "x\0$1"),
            advance: fc.nat(DEFAULT_CACHE_TTL_MS),
          }),
          { maxLength: 40 },
        ),
        async (steps) => {
          const { time, now } = clock();
          const cache = new VerifiedCache({ now, maxEntries: 2 });
          // Ground truth: under hash $1 the password is "x", under $2 it is "y".
          const truth = (hash: string, password: string) => (hash === "$1" ? "x" : "y") === password;
          for (const step of steps) {
            time.now += step.advance;
            const answer = await cache.verify(step.user, step.hash, step.password, async () =>
              truth(step.hash, step.password),
            );
            assert.equal(answer, truth(step.hash, step.password));
          }
        },
      ),
    );
  });
});
