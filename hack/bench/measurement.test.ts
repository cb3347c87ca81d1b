import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorTally, Measurement } from "./measurement.ts";

test("messages finished during the warm-up or after the window are not counted", () => {
  const m = new Measurement({ warmupMs: 1000, durationMs: 2000 }, 0);
  m.success(500, 900); // warm-up
  m.success(900, 1100); // started in warm-up, finished in the window: counts
  m.success(2000, 2500);
  m.success(2900, 3100); // after the window
  const r = m.result();
  assert.equal(r.messages, 2);
  assert.equal(r.seconds, 2);
  assert.equal(r.messagesPerSecond, 1);
  assert.deepEqual([r.latencyMs.p50, r.latencyMs.max], [200, 500]);
});

test("the window tells sessions to stop at its end", () => {
  const m = new Measurement({ warmupMs: 1000, durationMs: 2000 }, 5000);
  assert.ok(m.running(7999));
  assert.ok(!m.running(8000));
});

test("a message count ends the window at the last counted message", () => {
  const m = new Measurement({ warmupMs: 0, durationMs: 60_000, maxMessages: 3 }, 0);
  for (const end of [100, 200, 500]) m.success(end - 50, end);
  assert.ok(!m.running(501));
  m.success(550, 600); // after the early end: ignored
  const r = m.result();
  assert.equal(r.messages, 3);
  assert.equal(r.seconds, 0.5);
  assert.equal(r.messagesPerSecond, 6);
});

test("errors count at any time, grouped by text, most frequent first", () => {
  const m = new Measurement({ warmupMs: 1000, durationMs: 1000 }, 0);
  m.failure("535 5.7.8 Authentication credentials invalid");
  m.failure("451 4.4.1 upstream unavailable");
  m.failure("451 4.4.1 upstream unavailable");
  const r = m.result();
  assert.equal(r.errors, 3);
  assert.deepEqual(r.errorTexts, [
    { text: "451 4.4.1 upstream unavailable", count: 2 },
    { text: "535 5.7.8 Authentication credentials invalid", count: 1 },
  ]);
});

test("an empty tally has no errors", () => {
  const tally = new ErrorTally();
  assert.equal(tally.total, 0);
  assert.deepEqual(tally.counts(), []);
});
