import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatewayConfigYaml } from "./gateway-config.ts";
import { objectMeta } from "./labels.ts";
import { policyConfigMap } from "./policy-configmap.ts";
import { everything, gatewayOf, renderErrorOf } from "./test-fixtures.ts";

describe("policyConfigMap", () => {
  it("is <gw>-policy holding gateway.yaml", () => {
    const gateway = gatewayOf(everything);
    assert.deepEqual(policyConfigMap(gateway), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: objectMeta(gateway, "corp-policy"),
      data: { "gateway.yaml": gatewayConfigYaml(gateway) },
    });
  });

  it("passes on what cannot be rendered", () => {
    renderErrorOf(
      () => policyConfigMap(gatewayOf({ policy: { maxMessageSize: "1k" } })),
      "spec.policy.maxMessageSize",
    );
  });
});
