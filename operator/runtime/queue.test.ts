import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createOperatorMetrics } from "./metrics.ts";
import { type Clock, exponentialRateLimiter, WorkQueue } from "./queue.ts";

/** A clock that only moves when told; timers fire in due order as it does. */
function fakeClock() {
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout: (id) => void timers.delete(id as number),
  };
  return {
    clock,
    pending: () => timers.size,
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= until)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
  };
}

describe("WorkQueue", () => {
  test("a key added many times while waiting is handed out once", async () => {
    const queue = new WorkQueue<string>({ name: "t" });
    for (let i = 0; i < 5; i++) queue.add("a");
    queue.add("b");
    assert.equal(queue.len(), 2);
    assert.equal(await queue.get(), "a");
    assert.equal(await queue.get(), "b");
    assert.equal(queue.len(), 0);
  });

  test("a key added while processing is queued again only after done, and only once", async () => {
    const queue = new WorkQueue<string>({ name: "t" });
    queue.add("a");
    const key = await queue.get();
    assert.equal(key, "a");
    queue.add("a");
    queue.add("a");
    assert.equal(queue.len(), 0, "not queued while a worker holds it");
    let second: string | undefined;
    void queue.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    assert.equal(second, undefined, "a second worker must not get it");
    queue.done("a");
    await Promise.resolve();
    assert.equal(second, "a");
    assert.equal(queue.len(), 0);
  });

  test("concurrent workers never hold one key at the same time", async () => {
    const queue = new WorkQueue<string>({ name: "t" });
    const holding = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        if (holding.has(key)) overlaps++;
        holding.add(key);
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        // re-adds while processing, as informer events would
        if (Math.random() < 0.3) queue.add(key);
        holding.delete(key);
        processed++;
        queue.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let round = 0; round < 50; round++) {
      for (const key of ["a", "b", "c"]) queue.add(key);
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    queue.shutDown();
    await Promise.all(workers);
    assert.equal(overlaps, 0);
    assert.ok(processed >= 3);
  });

  test("rate-limited adds back off exponentially per key up to the cap; forget resets", () => {
    const limiter = exponentialRateLimiter<string>(5, 1_000_000);
    const delays = Array.from({ length: 30 }, () => limiter.when("a"));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    assert.equal(delays.at(-1), 1_000_000, "capped at 1000 s");
    assert.ok(delays.every((d, i) => i === 0 || d >= (delays[i - 1] ?? 0)));
    assert.equal(limiter.when("b"), 5, "per key");
    assert.equal(limiter.numRequeues("a"), 30);
    limiter.forget("a");
    assert.equal(limiter.when("a"), 5);
    assert.equal(exponentialRateLimiter<string>(5, 1_000_000).when("x"), 5);
    const big = exponentialRateLimiter<string>(5, 1_000_000);
    for (let i = 0; i < 2000; i++) big.when("x");
    assert.equal(big.when("x"), 1_000_000, "no overflow to NaN or Infinity");
  });

  test("addRateLimited waits the backoff on the queue's clock", async () => {
    const time = fakeClock();
    const queue = new WorkQueue<string>({ name: "t", clock: time.clock });
    queue.addRateLimited("a");
    queue.addRateLimited("a"); // second failure: 10 ms, but the earlier 5 ms schedule wins
    assert.equal(queue.numRequeues("a"), 2);
    time.advance(4);
    assert.equal(queue.len(), 0);
    time.advance(1);
    assert.equal(queue.len(), 1);
    assert.equal(await queue.get(), "a");
    queue.done("a");
    queue.forget("a");
    assert.equal(queue.numRequeues("a"), 0);
  });

  test("addAfter delays, keeps the earliest time, and a non-positive delay adds now", async () => {
    const time = fakeClock();
    const queue = new WorkQueue<string>({ name: "t", clock: time.clock });
    queue.addAfter("a", 100);
    queue.addAfter("a", 50);
    queue.addAfter("a", 200);
    time.advance(49);
    assert.equal(queue.len(), 0);
    time.advance(1);
    assert.equal(queue.len(), 1);
    time.advance(1000);
    assert.equal(queue.len(), 1, "the later schedules were folded into the earlier one");
    queue.addAfter("b", 0);
    assert.equal(queue.len(), 2);
  });

  test("shutDown: no more adds, queued keys drain, then get() resolves undefined", async () => {
    const time = fakeClock();
    const queue = new WorkQueue<string>({ name: "t", clock: time.clock });
    const blocked = queue.get();
    queue.add("a");
    assert.equal(await blocked, "a");
    queue.add("b");
    queue.addAfter("c", 10);
    queue.shutDown();
    assert.equal(time.pending(), 0, "delayed adds are dropped");
    queue.add("d");
    assert.equal(await queue.get(), "b");
    assert.equal(await queue.get(), undefined);
    const waiting = queue.get();
    assert.equal(await waiting, undefined);
    assert.ok(queue.shuttingDown());
  });

  test("getters blocked at shutdown are released", async () => {
    const queue = new WorkQueue<string>({ name: "t" });
    const waiting = [queue.get(), queue.get()];
    queue.shutDown();
    assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
  });

  test("records the workqueue_* metrics under its name", async () => {
    const time = fakeClock();
    const metrics = createOperatorMetrics({ defaultMetrics: false });
    const queue = new WorkQueue<string>({
      name: "gateways",
      clock: time.clock,
      metrics: (name, probe) => metrics.queueMetrics(name, probe),
    });
    const fresh = await metrics.render();
    assert.match(fresh, /workqueue_retries_total\{name="gateways"\} 0/, "series from the queue's creation");
    assert.match(fresh, /workqueue_adds_total\{name="gateways"\} 0/);
    queue.add("a");
    queue.add("a");
    queue.add("b");
    time.advance(2000);
    await queue.get();
    time.advance(3000);
    queue.addRateLimited("c");
    const text = await metrics.render();
    assert.match(text, /workqueue_adds_total\{name="gateways"\} 2/);
    assert.match(text, /workqueue_depth\{name="gateways"\} 1/);
    assert.match(text, /workqueue_retries_total\{name="gateways"\} 1/);
    assert.match(text, /workqueue_queue_duration_seconds_sum\{name="gateways"\} 2/);
    assert.match(text, /workqueue_unfinished_work_seconds\{name="gateways"\} 3/);
    assert.match(text, /workqueue_longest_running_processor_seconds\{name="gateways"\} 3/);
    queue.done("a");
    assert.match(await metrics.render(), /workqueue_work_duration_seconds_count\{name="gateways"\} 1/);
  });
});
