import assert from "node:assert/strict";
import { test } from "node:test";
import { isSubset, needsApply, sameValue } from "./apply.ts";

const actual = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: "gw-policy",
    namespace: "mail",
    uid: "u-1",
    resourceVersion: "42",
    labels: { "app.kubernetes.io/name": "postern-gateway", "other.io/x": "y" },
    ownerReferences: [{ apiVersion: "postern.io/v1alpha1", kind: "SubmissionGateway", name: "gw", uid: "g" }],
  },
  data: { "gateway.yaml": "a: 1\n" },
};

test("needsApply is false when every desired field already has its value", () => {
  const desired = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "gw-policy",
      namespace: "mail",
      labels: { "app.kubernetes.io/name": "postern-gateway" },
      ownerReferences: [
        { apiVersion: "postern.io/v1alpha1", kind: "SubmissionGateway", name: "gw", uid: "g" },
      ],
    },
    data: { "gateway.yaml": "a: 1\n" },
  };
  assert.equal(needsApply(desired, actual), false);
});

test("needsApply is true for a changed, added or differently typed field", () => {
  assert.ok(needsApply({ data: { "gateway.yaml": "a: 2\n" } }, actual));
  assert.ok(needsApply({ data: { extra: "x" } }, actual));
  assert.ok(needsApply({ metadata: { labels: { "new.io/l": "v" } } }, actual));
  assert.ok(needsApply({ spec: { replicas: 1 } }, { spec: { replicas: "1" } }));
  assert.ok(needsApply({ spec: { template: {} } }, { spec: { template: "x" } }));
  assert.ok(needsApply({ spec: {} }, { spec: [] }));
});

test("needsApply is true when there is no actual object", () => {
  assert.ok(needsApply({ kind: "ConfigMap" }, undefined));
});

test("lists compare element by element with equal lengths", () => {
  const have = {
    spec: {
      ports: [
        { port: 587, protocol: "TCP", targetPort: 10587 },
        { port: 465, protocol: "TCP" },
      ],
    },
  };
  assert.equal(needsApply({ spec: { ports: [{ port: 587 }, { port: 465 }] } }, have), false);
  assert.ok(needsApply({ spec: { ports: [{ port: 587 }] } }, have), "shorter list");
  assert.ok(needsApply({ spec: { ports: [{ port: 465 }, { port: 587 }] } }, have), "order matters");
  assert.ok(
    needsApply({ spec: { ports: [{ port: 587 }, { port: 465 }, { port: 25 }] } }, have),
    "longer list",
  );
  assert.equal(needsApply({ spec: { args: [] } }, { spec: { args: [] } }), false);
  assert.ok(needsApply({ spec: { args: [] } }, { spec: {} }));
});

test("undefined in desired is unmanaged; null means absent", () => {
  assert.equal(isSubset({ a: undefined }, {}), true);
  assert.equal(isSubset({ a: undefined }, { a: 1 }), true);
  assert.equal(isSubset({ a: null }, {}), true);
  assert.equal(isSubset({ a: null }, { a: 1 }), false);
});

test("sameValue treats a dropped field as a change (status replaces, it does not merge)", () => {
  const status = { observedGeneration: 2, conditions: [{ type: "Ready", status: "True" }] };
  assert.ok(sameValue(status, structuredClone(status)));
  assert.equal(sameValue({ observedGeneration: 2 }, status), false);
  assert.equal(sameValue(status, undefined), false);
  assert.ok(sameValue(undefined, undefined));
});
