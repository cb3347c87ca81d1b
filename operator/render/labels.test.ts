import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  credentialsSecretName,
  gatewayIdentity,
  labels,
  objectMeta,
  ownerReference,
  policyConfigMapName,
  SHARD_COUNT,
  selectorLabels,
  shardFileName,
  shardSecretName,
} from "./labels.ts";
import { gatewayOf, renderErrorOf, UID } from "./test-fixtures.ts";

describe("labels", () => {
  it("are the README's four, the selector its first, second and fourth", () => {
    assert.deepEqual(labels("corp"), {
      "app.kubernetes.io/name": "postern-gateway",
      "app.kubernetes.io/instance": "corp",
      "postern.io/gateway": "corp",
      "app.kubernetes.io/managed-by": "postern-operator",
    });
    assert.deepEqual(selectorLabels("corp"), {
      "app.kubernetes.io/name": "postern-gateway",
      "app.kubernetes.io/instance": "corp",
      "postern.io/gateway": "corp",
    });
  });
});

describe("names", () => {
  it("of the policy ConfigMap and the credentials Secret", () => {
    assert.equal(policyConfigMapName("corp"), "corp-policy");
    assert.equal(credentialsSecretName("corp"), "corp-credentials");
  });

  it("of the 32 shards, two digits each, and their files", () => {
    assert.equal(SHARD_COUNT, 32);
    assert.equal(shardSecretName("corp", 0), "corp-credentials-00");
    assert.equal(shardSecretName("corp", 7), "corp-credentials-07");
    assert.equal(shardSecretName("corp", 31), "corp-credentials-31");
    assert.equal(shardFileName(0), "users-00.yaml");
    assert.equal(shardFileName(31), "users-31.yaml");
    const all = Array.from({ length: SHARD_COUNT }, (_, i) => shardSecretName("corp", i));
    assert.equal(new Set(all).size, SHARD_COUNT);
  });

  it("refuse a shard index outside 0..31", () => {
    for (const index of [-1, 32, 1.5, Number.NaN]) {
      assert.throws(() => shardSecretName("corp", index), RangeError);
      assert.throws(() => shardFileName(index), RangeError);
    }
  });
});

describe("ownerReference", () => {
  it("makes the gateway the controller and blocks its deletion until the object is gone", () => {
    assert.deepEqual(ownerReference(gatewayOf()), {
      apiVersion: "postern.io/v1alpha1",
      kind: "SubmissionGateway",
      name: "corp",
      uid: UID,
      controller: true,
      blockOwnerDeletion: true,
    });
  });
});

describe("objectMeta", () => {
  it("names the object in the gateway's namespace, with the labels and the owner", () => {
    const gateway = gatewayOf();
    assert.deepEqual(objectMeta(gateway, "corp-policy"), {
      name: "corp-policy",
      namespace: "mail",
      labels: labels("corp"),
      ownerReferences: [ownerReference(gateway)],
    });
  });
});

describe("gatewayIdentity", () => {
  it("takes a name that can name a Service and be a label value", () => {
    assert.deepEqual(gatewayIdentity(gatewayOf({}, { name: `a${"b".repeat(62)}` })), {
      name: `a${"b".repeat(62)}`,
      namespace: "mail",
      uid: UID,
    });
  });

  it("refuses names the API allows but a Service or a label value does not", () => {
    for (const name of [`a${"b".repeat(63)}`, "mail.corp", "1corp"]) {
      renderErrorOf(() => gatewayIdentity(gatewayOf({}, { name })), "metadata.name");
    }
  });

  it("needs the namespace and uid the API server sets", () => {
    renderErrorOf(() => gatewayIdentity(gatewayOf({}, { namespace: undefined })), "metadata.namespace");
    renderErrorOf(() => gatewayIdentity(gatewayOf({}, { uid: undefined })), "metadata.uid");
  });
});
