import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { objectMeta, selectorLabels } from "./labels.ts";
import { podDisruptionBudget } from "./pdb.ts";
import { gatewayOf } from "./test-fixtures.ts";

describe("podDisruptionBudget", () => {
  it("lets one pod of the gateway's be disrupted at a time", () => {
    const gateway = gatewayOf();
    assert.deepEqual(podDisruptionBudget(gateway), {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: objectMeta(gateway, "corp"),
      spec: {
        maxUnavailable: 1,
        selector: { matchLabels: selectorLabels("corp") },
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    });
  });

  it("is the same at every scale, so a drain is never blocked by one replica and scaling changes nothing", () => {
    const at = (replicas: number) => podDisruptionBudget(gatewayOf({ replicas }));
    assert.deepEqual(at(0), at(1));
    assert.deepEqual(at(1), at(5));
    assert.equal("minAvailable" in (at(1).spec ?? {}), false);
  });
});
