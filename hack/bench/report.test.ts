import assert from "node:assert/strict";
import { test } from "node:test";
import {
  combineRounds,
  cpuSecondsPer1000,
  formatTable,
  judgeIdle,
  judgeLarge,
  judgePerMessage,
  judgePooled,
  TARGETS,
} from "./report.ts";

const figures = (messagesPerSecond: number, p99: number | null, errors = 0, cpu: number | null = null) => ({
  messagesPerSecond,
  latencyMs: { p50: p99, p99 },
  errors,
  cpuSecondsPer1000: cpu,
});

test("pooled passes at exactly three times Postfix's throughput with p99 no worse", () => {
  assert.deepEqual(judgePooled(figures(3000, 50), figures(1000, 50)), { ratio: 3, pass: true });
});

test("pooled misses below three times, with a worse p99, with errors, or without a p99", () => {
  assert.equal(judgePooled(figures(2999, 40), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, 51), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, 40, 1), figures(1000, 50)).pass, false);
  assert.equal(judgePooled(figures(3000, null), figures(1000, 50)).pass, false);
});

test("no Postfix throughput gives no ratio and no pass", () => {
  assert.deepEqual(judgePooled(figures(3000, 40), figures(0, null)), { ratio: null, pass: false });
});

test("per-message passes at its target only while both sides keep argon2id at the same cost", () => {
  const warm = TARGETS.perMessageWarmRatio;
  assert.deepEqual(judgePerMessage(figures(160, 900), figures(16, 50), warm, true), {
    ratio: 10,
    pass: true,
  });
  assert.equal(judgePerMessage(figures(160, 900), figures(16, 50), warm, false).pass, false);
  assert.equal(judgePerMessage(figures(159, 1), figures(16, 50), warm, true).pass, false);
  assert.equal(
    judgePerMessage(figures(24, 1), figures(16, 50), TARGETS.perMessageColdRatio, true).pass,
    true,
  );
});

test("idle passes with every session authenticated and the peak within the target's RSS", () => {
  const [small, large] = TARGETS.idle;
  const idle = {
    sessions: 10_000,
    authenticated: 10_000,
    errors: 0,
    rssBytes: 400e6,
    hwmBytes: small.rssBytes,
  };
  assert.equal(judgeIdle(idle, small).pass, true);
  assert.equal(judgeIdle({ ...idle, hwmBytes: small.rssBytes + 1 }, small).pass, false);
  assert.equal(judgeIdle({ ...idle, authenticated: 9_999 }, small).pass, false);
  assert.equal(judgeIdle({ ...idle, errors: 1 }, small).pass, false);
  assert.equal(judgeIdle(idle, large).pass, false, "10,000 sessions do not pass the 50,000 target");
});

test("CPU seconds per 1,000 messages", () => {
  assert.equal(cpuSecondsPer1000(250, 100, 1000), 2.5);
  assert.equal(cpuSecondsPer1000(250, 100, 0), null);
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
  const combined = combineRounds([figures(900, 60, 1, 3), figures(1000, 40, 0, 1), figures(1200, 50, 2, 2)]);
  assert.deepEqual(combined, {
    messagesPerSecond: 1000,
    latencyMs: { p50: 50, p99: 50 },
    errors: 3,
    cpuSecondsPer1000: 2,
  });
  assert.equal(combineRounds([figures(900, 60), figures(1000, 40)]).messagesPerSecond, 950);
  assert.deepEqual(combineRounds([figures(0, null)]).latencyMs, { p50: null, p99: null });
});

test("large messages pass with every one relayed and the gateway's peak within 300 MiB", () => {
  const ok = figures(2, 100);
  assert.equal(judgeLarge(ok, 50, TARGETS.large.rssBytes).pass, true);
  assert.equal(judgeLarge(ok, 50, TARGETS.large.rssBytes + 1).pass, false);
  assert.equal(judgeLarge(ok, 49, 100).pass, false);
  assert.equal(judgeLarge(figures(2, 100, 1), 50, 100).pass, false);
});
