// Two electors on one Lease of the real control plane, with short timings (lease 3 s, renew deadline
// 2 s, retry 0.4 s).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { freshNamespace, kubeConfig } from "../../hack/testing/cluster.ts";
import { LeaderElector } from "./leader-election.ts";
import { createOperatorMetrics } from "./metrics.ts";

const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 };

function candidate(namespace: string, identity: string, options: { releaseOnCancel?: boolean } = {}) {
  const log: string[] = [];
  const metrics = createOperatorMetrics({ defaultMetrics: false });
  let startedAt = 0;
  const elector = new LeaderElector({
    kubeConfig: kubeConfig(),
    namespace,
    name: "postern-operator",
    identity,
    ...timings,
    ...options,
    metrics,
    onStartedLeading: () => {
      startedAt = performance.now();
      log.push("started");
    },
    onStoppedLeading: () => log.push("stopped"),
    onNewLeader: (id) => log.push(`leader ${id}`),
  });
  const done = elector.run();
  return { elector, log, done, metrics, startedAt: () => startedAt };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
  return performance.now() - start;
}

async function readLease(namespace: string): Promise<k8s.V1Lease> {
  return await kubeConfig()
    .makeApiClient(k8s.CoordinationV1Api)
    .readNamespacedLease({ namespace, name: "postern-operator" });
}

test("exactly one of two candidates leads; a release hands over at once", async (t) => {
  const namespace = await freshNamespace(t);
  const a = candidate(namespace, "a");
  await until(() => a.elector.isLeader(), "a to lead");
  const b = candidate(namespace, "b");
  t.after(() => Promise.all([a.elector.stop(), b.elector.stop()]));
  await sleep(1500); // several of b's retries
  assert.ok(a.elector.isLeader());
  assert.equal(b.elector.isLeader(), false);
  assert.ok(b.log.includes("leader a"));
  assert.match(await a.metrics.render(), /leader_election_master_status\{name="postern-operator"\} 1/);
  assert.match(await b.metrics.render(), /leader_election_master_status\{name="postern-operator"\} 0/);

  const lease = await readLease(namespace);
  assert.equal(lease.spec?.holderIdentity, "a");
  assert.equal(lease.spec?.leaseDurationSeconds, 3);
  assert.match(String(lease.spec?.renewTime), /\.\d{6}Z$|^\d{4}-/);

  const stopped = performance.now();
  await a.elector.stop();
  await a.done;
  assert.deepEqual(a.log, ["leader a", "started", "stopped"]);
  await until(() => b.elector.isLeader(), "b to take over");
  const handover = performance.now() - stopped;
  assert.ok(handover < 1500, `released lease taken in ${handover.toFixed(0)} ms, well under the 3 s lease`);
  const after = await readLease(namespace);
  assert.equal(after.spec?.holderIdentity, "b");
  assert.equal(after.spec?.leaseTransitions, 1);
});

test("a leader that stops renewing is replaced within one lease duration", async (t) => {
  const namespace = await freshNamespace(t);
  const a = candidate(namespace, "a", { releaseOnCancel: false });
  await until(() => a.elector.isLeader(), "a to lead");
  const b = candidate(namespace, "b");
  t.after(() => b.elector.stop());
  await sleep(800);
  const silenced = performance.now();
  await a.elector.stop(); // no release: the lease stays a's until it expires
  assert.equal((await readLease(namespace)).spec?.holderIdentity, "a");
  await until(() => b.elector.isLeader(), "b to take over", 10_000);
  const takeover = performance.now() - silenced;
  // expiry is judged from b's observation of a's last renewal: at most lease + one retry (+ jitter)
  assert.ok(
    takeover <= timings.leaseDurationMs + 2 * timings.retryPeriodMs + 500,
    `took ${takeover.toFixed(0)} ms`,
  );
  assert.ok(
    takeover >= timings.leaseDurationMs - timings.retryPeriodMs - 200,
    `too early: ${takeover.toFixed(0)} ms`,
  );
});

test("a leader whose lease is overwritten by someone else stops leading", async (t) => {
  const namespace = await freshNamespace(t);
  const a = candidate(namespace, "a");
  t.after(() => a.elector.stop());
  await until(() => a.elector.isLeader(), "a to lead");
  const coordination = kubeConfig().makeApiClient(k8s.CoordinationV1Api);
  const lease = await readLease(namespace);
  await coordination.replaceNamespacedLease({
    namespace,
    name: "postern-operator",
    body: { ...lease, spec: { ...lease.spec, holderIdentity: "intruder", leaseDurationSeconds: 30 } },
  });
  const lost = await until(() => !a.elector.isLeader(), "a to stop leading", 5000);
  assert.ok(lost < timings.renewDeadlineMs + 200, `stopped after ${lost.toFixed(0)} ms`);
  await a.done;
  assert.deepEqual(a.log, ["leader a", "started", "leader intruder", "stopped"]);
  assert.match(await a.metrics.render(), /leader_election_master_status\{name="postern-operator"\} 0/);
});
