import assert from "node:assert/strict";
import { test } from "node:test";
import { Controller } from "./controller.ts";
import { createOperatorMetrics } from "./metrics.ts";
import { exponentialRateLimiter } from "./queue.ts";

test("a controller retries errors with backoff, forgets on success, and counts results", async () => {
  const metrics = createOperatorMetrics({ defaultMetrics: false });
  const calls: string[] = [];
  let failuresLeft = 2;
  let concurrent = 0;
  let maxConcurrent = 0;
  const controller = new Controller({
    name: "gateways",
    workers: 3,
    metrics,
    rateLimiter: exponentialRateLimiter(1, 10),
    async reconcile(key) {
      calls.push(key);
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((r) => setTimeout(r, 5));
      concurrent--;
      if (key === "flaky" && failuresLeft-- > 0) throw new Error("transient");
      if (key === "later" && calls.filter((k) => k === "later").length === 1) return { requeueAfter: 20 };
    },
  });
  // queued before the workers start, so the duplicate "plain" folds into one
  for (const key of ["flaky", "later", "plain", "plain"]) controller.enqueue(key);
  controller.start();
  await new Promise((r) => setTimeout(r, 150));
  await controller.stop();

  assert.equal(calls.filter((k) => k === "flaky").length, 3);
  assert.equal(calls.filter((k) => k === "later").length, 2);
  assert.equal(calls.filter((k) => k === "plain").length, 1);
  assert.equal(controller.queue.numRequeues("flaky"), 0, "forgotten after its success");
  assert.ok(maxConcurrent > 1 && maxConcurrent <= 3);
  const text = await metrics.render();
  assert.match(text, /controller_runtime_reconcile_total\{controller="gateways",result="error"\} 2/);
  assert.match(text, /controller_runtime_reconcile_total\{controller="gateways",result="requeue_after"\} 1/);
  assert.match(text, /controller_runtime_reconcile_total\{controller="gateways",result="success"\} 3/);
  assert.match(text, /controller_runtime_reconcile_errors_total\{controller="gateways"\} 2/);
  assert.match(text, /controller_runtime_max_concurrent_reconciles\{controller="gateways"\} 3/);
  assert.match(text, /controller_runtime_active_workers\{controller="gateways"\} 0/);
  assert.match(text, /controller_runtime_reconcile_time_seconds_count\{controller="gateways"\} 6/);
});

test("a started controller exposes its reconcile and error counters at 0, as controller-runtime does", async () => {
  const metrics = createOperatorMetrics({ defaultMetrics: false });
  const controller = new Controller({ name: "idle", metrics, reconcile: async () => {} });
  controller.start();
  await controller.stop();
  const text = await metrics.render();
  for (const result of ["success", "error", "requeue", "requeue_after"]) {
    assert.match(
      text,
      new RegExp(`controller_runtime_reconcile_total\\{controller="idle",result="${result}"\\} 0`),
    );
  }
  assert.match(text, /controller_runtime_reconcile_errors_total\{controller="idle"\} 0/);
});

test("resync re-enqueues every listed key; wrap sees each reconcile", async () => {
  const seen: string[] = [];
  const wrapped: string[] = [];
  const controller = new Controller({
    name: "resync",
    reconcile: async (key) => void seen.push(key),
    resync: { periodMs: 20, keys: () => ["x", "y"] },
    wrap: async (key, run) => {
      wrapped.push(key);
      return await run();
    },
  });
  controller.start();
  await new Promise((r) => setTimeout(r, 70));
  await controller.stop();
  assert.ok(seen.filter((k) => k === "x").length >= 2);
  assert.deepEqual(wrapped, seen);
});
