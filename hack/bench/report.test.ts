import assert from "node:assert/strict";
import { test } from "node:test";
import {
  combineRounds,
  formatTable,
  judgeIdle,
  judgePerMessage,
  judgePooled,
  type LoadFigures,
  TARGETS,
} from "./report.ts";

const figures = (messagesPerSecond: number, p99: number | null, errors = 0): LoadFigures => ({
  messagesPerSecond,
  latencyMs: { p50: p99, p99 },
  errors,
});

test("pooled passes at exactly twice Postfix's throughput with p99 no worse", () => {
  assert.deepEqual(judgePooled(figures(2000, 50), figures(1000, 50)), { ratio: 2, pass: true });
});

test("pooled misses below twice, with a worse p99, with errors, or without a p99", () => {
  assert.equal(judgePooled(figures(1999, 40), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, 51), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, 40, 1), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, null), figures(1000, 50)).pass, false);
});

test("no Postfix throughput gives no ratio and no pass", () => {
  assert.deepEqual(judgePooled(figures(3000, 40), figures(0, null)), { ratio: null, pass: false });
});

test("per-message passes at ten times only while the verifier at rest is argon2id", () => {
  assert.deepEqual(judgePerMessage(figures(160, 900), figures(16, 50), true), { ratio: 10, pass: true });
  assert.equal(judgePerMessage(figures(160, 900), figures(16, 50), false).pass, false);
  assert.equal(judgePerMessage(figures(159, 1), figures(16, 50), true).pass, false);
});

test("idle passes with every one of 10,000 sessions authenticated and the peak within 1 GiB", () => {
  const idle = {
    sessions: 10_000,
    authenticated: 10_000,
    errors: 0,
    rssBytes: 900e6,
    hwmBytes: TARGETS.idleRssBytes,
  };
  assert.equal(judgeIdle(idle).pass, true);
  assert.equal(judgeIdle({ ...idle, hwmBytes: TARGETS.idleRssBytes + 1 }).pass, false);
  assert.equal(judgeIdle({ ...idle, authenticated: 9_999 }).pass, false);
  assert.equal(judgeIdle({ ...idle, errors: 1 }).pass, false);
  assert.equal(judgeIdle({ ...idle, sessions: 100, authenticated: 100 }).pass, false);
});

test("the table pads every column to its widest cell and rules off the header", () => {
  const table = formatTable([
    ["mode", "msg/s"],
    ["pooled", "2000"],
    ["per-message", "160"],
  ]);
  assert.equal(
    table,
    ["mode         msg/s", "-----------  -----", "pooled       2000", "per-message  160"].join("\n"),
  );
});

test("rounds combine into the median of each figure, with every round's errors", () => {
  const combined = combineRounds([figures(900, 60, 1), figures(1000, 40), figures(1200, 50, 2)]);
  assert.deepEqual(combined, { messagesPerSecond: 1000, latencyMs: { p50: 50, p99: 50 }, errors: 3 });
  assert.equal(combineRounds([figures(900, 60), figures(1000, 40)]).messagesPerSecond, 950);
  assert.deepEqual(combineRounds([figures(0, null)]).latencyMs, { p50: null, p99: null });
});
