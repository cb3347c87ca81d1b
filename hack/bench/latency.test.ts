import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { percentile, summarize } from "./latency.ts";

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

test("nearest-rank percentiles of 1..100 are the ranks themselves", () => {
  assert.equal(percentile(oneToHundred, 50), 50);
  assert.equal(percentile(oneToHundred, 99), 99);
  assert.equal(percentile(oneToHundred, 100), 100);
  assert.equal(percentile([7], 1), 7);
});

test("a percentile outside (0, 100] is refused", () => {
  assert.throws(() => percentile(oneToHundred, 0), RangeError);
  assert.throws(() => percentile(oneToHundred, 101), RangeError);
});

test("summarize sorts numerically, not as strings", () => {
  const summary = summarize([100, 9, 20, 3]);
  assert.equal(summary.p50, 9);
  assert.equal(summary.max, 100);
  assert.equal(summary.mean, 33);
  assert.equal(summary.count, 4);
});

test("no samples give no figures rather than zeros", () => {
  assert.deepEqual(summarize([]), { count: 0, p50: null, p99: null, max: null, mean: null });
});

test("p50 <= p99 <= max, each an observed sample, mean between min and max", () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }), (samples) => {
      const s = summarize(samples);
      assert.ok(s.p50 !== null && s.p99 !== null && s.max !== null && s.mean !== null);
      assert.ok(s.p50 <= s.p99 && s.p99 <= s.max);
      assert.ok(samples.includes(s.p50) && samples.includes(s.p99));
      assert.ok(s.mean >= Math.min(...samples) - 1e-6 && s.mean <= s.max + 1e-6);
    }),
  );
});
