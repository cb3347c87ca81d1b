// The pure decisions inside the informer, the controller, the backoff and leader election.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { backoffDelay } from "./backoff.ts";
import { collectionPath } from "./client.ts";
import { outcomeOf } from "./controller.ts";
import { diffCache, objectKey } from "./informer.ts";
import { formatMicroTime, sameRecord, validateTimings } from "./leader-election.ts";

const obj = (name: string, rv: string, namespace = "ns"): KubernetesObject => ({
  metadata: { name, namespace, resourceVersion: rv },
});

test("objectKey is namespace/name, or name when cluster-scoped", () => {
  assert.equal(objectKey(obj("a", "1")), "ns/a");
  assert.equal(objectKey({ metadata: { name: "node-1" } }), "node-1");
});

test("diffCache: adds, updates by resourceVersion, deletes with the cached state", () => {
  const cache = new Map([
    ["ns/kept", obj("kept", "1")],
    ["ns/changed", obj("changed", "2")],
    ["ns/gone", obj("gone", "3")],
  ]);
  const delta = diffCache(cache, [obj("kept", "1"), obj("changed", "5"), obj("new", "6")]);
  assert.deepEqual(
    delta.added.map((o) => o.metadata?.name),
    ["new"],
  );
  assert.deepEqual(
    delta.updated.map(([old, now]) => [old.metadata?.resourceVersion, now.metadata?.resourceVersion]),
    [["2", "5"]],
  );
  assert.deepEqual(delta.deleted, [obj("gone", "3")]);
});

test("collectionPath for core and group resources, namespaced or not", () => {
  assert.equal(
    collectionPath({ group: "", version: "v1", plural: "secrets" }, "mail"),
    "/api/v1/namespaces/mail/secrets",
  );
  assert.equal(
    collectionPath({ group: "postern.io", version: "v1alpha1", plural: "smtpusers" }),
    "/apis/postern.io/v1alpha1/smtpusers",
  );
});

test("backoffDelay doubles, caps, and jitters within [d/2, d]", () => {
  const options = { initialMs: 100, maxMs: 30_000 };
  assert.equal(backoffDelay(0, options, 0.999999).toFixed(0), "100");
  assert.equal(backoffDelay(0, options, 0), 50);
  assert.equal(backoffDelay(3, options, 0), 400);
  assert.equal(backoffDelay(20, options, 0), 15_000);
  assert.ok(backoffDelay(2000, options, 0.5) <= 30_000);
});

test("outcomeOf maps a reconcile's result to controller-runtime's result label", () => {
  assert.equal(outcomeOf(undefined, false), "success");
  assert.equal(outcomeOf({}, false), "success");
  assert.equal(outcomeOf({ requeue: true }, false), "requeue");
  assert.equal(outcomeOf({ requeueAfter: 1000 }, false), "requeue_after");
  assert.equal(outcomeOf({ requeue: true, requeueAfter: 5 }, false), "requeue_after");
  assert.equal(outcomeOf({ requeueAfter: 0 }, false), "success");
  assert.equal(outcomeOf(undefined, true), "error");
});

test("formatMicroTime writes RFC 3339 with six fractional digits", () => {
  assert.equal(formatMicroTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678) + 0.901), "2025-01-02T03:04:05.678901Z");
  assert.equal(formatMicroTime(Date.UTC(2025, 0, 2, 3, 4, 5)), "2025-01-02T03:04:05.000000Z");
  assert.match(
    formatMicroTime(performance.timeOrigin + performance.now()),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
  );
});

test("sameRecord compares every lease field; an empty holder equals a missing one", () => {
  const a = {
    holderIdentity: "x",
    leaseDurationSeconds: 15,
    renewTime: "t1",
    acquireTime: "t0",
    leaseTransitions: 1,
  };
  assert.ok(sameRecord(a, { ...a }));
  assert.equal(sameRecord(a, { ...a, renewTime: "t2" }), false);
  assert.equal(sameRecord(a, undefined), false);
  assert.ok(sameRecord({ holderIdentity: "" }, {}));
});

test("validateTimings enforces lease > renew deadline > 1.2 × retry", () => {
  assert.doesNotThrow(() => validateTimings(15_000, 10_000, 2_000));
  assert.throws(() => validateTimings(10_000, 10_000, 2_000));
  assert.throws(() => validateTimings(15_000, 2_000, 2_000));
});
