import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConcurrencyLimit } from "./concurrency-limit.ts";

describe("ConcurrencyLimit", () => {
  it("never runs more than the limit at once, and runs every task in order of arrival", async () => {
    const limit = new ConcurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limit
          .run(async () => {
            started.push(i);
            peak = Math.max(peak, ++active);
            await new Promise((r) => setTimeout(r, 5));
            active--;
            if (i === 4) throw new Error("one task fails");
            return i;
          })
          .catch((error: Error) => error.message),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(
      started,
      [...started].sort((a, b) => a - b),
    );
    assert.equal(results[4], "one task fails");
    assert.equal(results[11], 11, "a failed task frees its slot");
  });

  it("counts the tasks under way and those waiting", async () => {
    const limit = new ConcurrencyLimit(2);
    const gates: Array<() => void> = [];
    const tasks = Array.from({ length: 5 }, () =>
      limit.run(() => new Promise<void>((resolve) => gates.push(resolve))),
    );
    assert.deepEqual([limit.active, limit.waiting], [2, 3]);
    while (limit.active > 0) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(tasks);
    assert.deepEqual([limit.active, limit.waiting], [0, 0]);
  });

  it("refuses a limit below one", () => {
    assert.throws(() => new ConcurrencyLimit(0), /concurrency limit 0: expected 1 or more/);
  });
});
