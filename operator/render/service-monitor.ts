// The Prometheus Operator ServiceMonitor, when spec.observability.serviceMonitor.enabled: scrape the
// Service's metrics port.
import type { V1LabelSelector, V1ObjectMeta } from "@kubernetes/client-node";
import { durationMilliseconds } from "../../crds/schema/duration.ts";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { gatewayIdentity, objectMeta, selectorLabels } from "./labels.ts";
import { METRICS_PORT_NAME } from "./ports.ts";

/** monitoring.coreos.com/v1 ServiceMonitor, the fields Postern sets. */
export interface ServiceMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: V1ObjectMeta;
  spec: {
    selector: V1LabelSelector;
    endpoints: { port: string; path: string; interval: string }[];
  };
}

const units = [
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
] as const;

/**
 * A duration as Prometheus spells it: units largest first, each once ("90s" → "1m30s"). The API takes
 * them in any order ("30s1m"), which the ServiceMonitor CRD's pattern refuses.
 */
export function prometheusDuration(duration: string): string {
  let rest = durationMilliseconds(duration);
  let text = "";
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) text += `${amount}${unit}`;
  }
  return text || "0s";
}

/** The ServiceMonitor, or undefined when the spec does not ask for one. */
export function serviceMonitor(gateway: SubmissionGateway): ServiceMonitor | undefined {
  const spec = gateway.spec.observability.serviceMonitor;
  if (!spec.enabled) return undefined;
  const { name } = gatewayIdentity(gateway);
  const metadata = objectMeta(gateway, name);
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    // The user's labels pick the Prometheus that scrapes it; Postern's own cannot be overridden.
    metadata: { ...metadata, labels: { ...spec.labels, ...metadata.labels } },
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      endpoints: [{ port: METRICS_PORT_NAME, path: "/metrics", interval: prometheusDuration(spec.interval) }],
    },
  };
}
