// The Service clients connect to: one port per listener, mapped to the port the listener binds in the
// pod, and the metrics port for Prometheus.
import type { V1Service } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { gatewayIdentity, objectMeta, selectorLabels } from "./labels.ts";
import { listenerPorts, METRICS_PORT_NAME } from "./ports.ts";

export function service(gateway: SubmissionGateway): V1Service {
  const { name } = gatewayIdentity(gateway);
  const { service: spec, observability } = gateway.spec;
  const metadata = objectMeta(gateway, name);
  // The API server refuses externalTrafficPolicy on a ClusterIP Service.
  const external = spec.type !== "ClusterIP" && spec.externalTrafficPolicy !== undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata:
      spec.annotations === undefined ? metadata : { ...metadata, annotations: { ...spec.annotations } },
    spec: {
      type: spec.type,
      selector: selectorLabels(name),
      ports: [
        ...listenerPorts(gateway.spec).map((l) => ({
          name: l.name,
          protocol: "TCP",
          port: l.port,
          targetPort: l.containerPort,
        })),
        {
          name: METRICS_PORT_NAME,
          protocol: "TCP",
          port: observability.metricsPort,
          targetPort: observability.metricsPort,
        },
      ],
      ...(external && { externalTrafficPolicy: spec.externalTrafficPolicy }),
    },
  };
}
