import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labels, ownerReference } from "./labels.ts";
import { applyOrder, gatewayObjects } from "./objects.ts";
import { everything, exampleGateways, gatewayOf, renderErrorOf } from "./test-fixtures.ts";

const options = { gatewayImage: "ghcr.io/postern/gateway:0.1.0" };

/** Every object and array reachable from `value`. */
function reachable(value: unknown, seen = new Set<object>()): Set<object> {
  if (typeof value === "object" && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const child of Object.values(value)) reachable(child, seen);
  }
  return seen;
}

describe("gatewayObjects", () => {
  for (const { name, gateway } of [
    { name: "everything", gateway: gatewayOf(everything) },
    ...exampleGateways(),
  ]) {
    it(`${name}: every object is named, namespaced, labelled and owned by the gateway`, () => {
      for (const object of applyOrder(gatewayObjects(gateway, options))) {
        const what = `${object.kind}/${object.metadata?.name}`;
        assert.ok(object.apiVersion && object.kind, what);
        assert.match(object.metadata?.name ?? "", new RegExp(`^${gateway.metadata.name}(-policy)?$`), what);
        assert.equal(object.metadata?.namespace, "mail", what);
        assert.deepEqual(
          Object.entries(labels(gateway.metadata.name)).filter(
            ([k, v]) => object.metadata?.labels?.[k] !== v,
          ),
          [],
          what,
        );
        assert.deepEqual(object.metadata?.ownerReferences, [ownerReference(gateway)], what);
      }
    });
  }

  it("are applied ServiceAccount and ConfigMap first, the ServiceMonitor only when enabled", () => {
    const kinds = (spec: Parameters<typeof gatewayOf>[0]) =>
      applyOrder(gatewayObjects(gatewayOf(spec), options)).map((o) => o.kind);
    assert.deepEqual(kinds({}), [
      "ServiceAccount",
      "ConfigMap",
      "Deployment",
      "Service",
      "PodDisruptionBudget",
    ]);
    assert.deepEqual(kinds(everything), [
      "ServiceAccount",
      "ConfigMap",
      "Deployment",
      "Service",
      "PodDisruptionBudget",
      "ServiceMonitor",
    ]);
  });

  it("share no object with the gateway, which lives in the informer's cache", () => {
    const gateway = gatewayOf(everything);
    const inputs = reachable(gateway);
    for (const output of reachable(gatewayObjects(gateway, options))) {
      assert.equal(inputs.has(output), false, JSON.stringify(output));
    }
  });

  it("are the same for the same gateway", () => {
    assert.equal(
      JSON.stringify(gatewayObjects(gatewayOf(everything), options)),
      JSON.stringify(gatewayObjects(gatewayOf(everything), options)),
    );
  });

  it("throw the RenderError of a spec that cannot be rendered", () => {
    const gateway = gatewayOf({
      listeners: [
        { name: "submission", port: 587, mode: "starttls" },
        { name: "alt", port: 10587, mode: "starttls" },
      ],
    });
    renderErrorOf(() => gatewayObjects(gateway, options), "spec.listeners[1].port");
  });
});
