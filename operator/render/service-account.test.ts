import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { objectMeta } from "./labels.ts";
import { serviceAccount } from "./service-account.ts";
import { gatewayOf } from "./test-fixtures.ts";

describe("serviceAccount", () => {
  it("is <gw>, with no token mounted", () => {
    const gateway = gatewayOf();
    assert.deepEqual(serviceAccount(gateway), {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: objectMeta(gateway, "corp"),
      automountServiceAccountToken: false,
    });
  });
});
