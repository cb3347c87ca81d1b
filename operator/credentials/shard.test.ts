import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { usernameKey } from "../../gateway/credentials/users-file.ts";
import { SHARD_COUNT } from "../render/labels.ts";
import { MAX_SHARD_BYTES, renderShard, ShardTooLargeError, shardOf } from "./shard.ts";
import type { ShardUser } from "./user-entry.ts";

const entry = (username: string, senders = [username]): ShardUser => ({
  username,
  senders,
  verifiers: { password: "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q" },
});

describe("shardOf", () => {
  it("is stable: the same key always lands in the same shard (SHA-256, first 4 bytes, mod 32)", () => {
    // Pinned: a change here moves users between Secrets on upgrade, rewriting every shard.
    assert.deepEqual(
      ["alice@example.test", "bob@example.test", "ümlaut@example.test"].map((name) =>
        shardOf(usernameKey(name)),
      ),
      [26, 4, 14],
    );
  });

  it("spreads 10,000 keys evenly over the 32 shards", () => {
    const counts = new Array<number>(SHARD_COUNT).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const shard = shardOf(usernameKey(`user${i}@example.test`));
      assert.ok(Number.isInteger(shard) && shard >= 0 && shard < SHARD_COUNT);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // 312.5 expected per shard, standard deviation about 17.4.
    assert.ok(Math.min(...counts) > 240 && Math.max(...counts) < 385, JSON.stringify(counts));
  });
});

describe("renderShard", () => {
  it("sorts users by key, whatever order they come in", () => {
    const a = new Map([
      ["b", entry("b")],
      ["a", entry("a")],
    ]);
    const b = new Map([...a].reverse());
    assert.equal(renderShard(0, a), renderShard(0, b));
    assert.match(renderShard(0, a), /username: a\n[\s\S]*username: b\n/);
  });

  it("refuses a shard above 768 KiB, naming it", () => {
    const senders = Array.from({ length: 256 }, (_, i) => `sender-${i}-${"x".repeat(40)}@example.test`);
    const users = new Map(Array.from({ length: 70 }, (_, i) => [`u${i}`, entry(`u${i}`, senders)]));
    assert.throws(
      () => renderShard(7, users),
      (error: unknown) => {
        assert.ok(error instanceof ShardTooLargeError);
        assert.equal(error.shard, 7);
        assert.ok(error.bytes > MAX_SHARD_BYTES);
        assert.match(error.message, /^credentials shard 07 would be \d+ KiB, above the 768 KiB limit/);
        return true;
      },
    );
  });
});
