import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { objectMeta, selectorLabels } from "./labels.ts";
import { service } from "./service.ts";
import { everything, gatewayOf, renderErrorOf } from "./test-fixtures.ts";

describe("service", () => {
  it("maps each listener's port to its container port, plus metrics", () => {
    const gateway = gatewayOf(everything);
    assert.deepEqual(service(gateway), {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        ...objectMeta(gateway, "corp"),
        annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
      },
      spec: {
        type: "LoadBalancer",
        selector: selectorLabels("corp"),
        ports: [
          { name: "submission", protocol: "TCP", port: 587, targetPort: 10587 },
          { name: "submissions", protocol: "TCP", port: 465, targetPort: 10465 },
          { name: "legacy", protocol: "TCP", port: 2525, targetPort: 2525 },
          { name: "metrics", protocol: "TCP", port: 9100, targetPort: 9100 },
        ],
        externalTrafficPolicy: "Local",
      },
    });
  });

  it("is a ClusterIP Service without annotations or a traffic policy by default", () => {
    const gateway = gatewayOf();
    const rendered = service(gateway);
    assert.deepEqual(rendered.metadata, objectMeta(gateway, "corp"));
    assert.equal(rendered.spec?.type, "ClusterIP");
    assert.equal(rendered.spec && "externalTrafficPolicy" in rendered.spec, false);
    assert.deepEqual(
      rendered.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
      [
        ["submission", 587, 10587],
        ["submissions", 465, 10465],
        ["metrics", 9090, 9090],
      ],
    );
  });

  it("sets externalTrafficPolicy for NodePort, and leaves it to the server's default when unset", () => {
    const nodePort = service(gatewayOf({ service: { type: "NodePort", externalTrafficPolicy: "Cluster" } }));
    assert.equal(nodePort.spec?.externalTrafficPolicy, "Cluster");
    const unset = service(gatewayOf({ service: { type: "LoadBalancer" } }));
    assert.equal(unset.spec && "externalTrafficPolicy" in unset.spec, false);
  });

  it("passes on port collisions", () => {
    renderErrorOf(
      () => service(gatewayOf({ observability: { metricsPort: 10587 } })),
      "spec.listeners[0].port",
    );
  });
});
