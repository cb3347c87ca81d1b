import assert from "node:assert/strict";
import { test } from "node:test";
import { mapLimited } from "./limit.ts";

test("results in order, never more than the limit in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const results = await mapLimited([5, 1, 4, 2, 3, 0], 2, async (ms, index) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, ms));
    inFlight--;
    return ms * 10 + index;
  });
  assert.deepEqual(results, [50, 11, 42, 23, 34, 5]);
  assert.equal(peak, 2);
});

test("an empty list and a rejection", async () => {
  assert.deepEqual(await mapLimited([], 4, async () => 1), []);
  await assert.rejects(
    mapLimited([1, 2], 1, async (n) => {
      if (n === 2) throw new Error("boom");
      return n;
    }),
    /boom/,
  );
});
