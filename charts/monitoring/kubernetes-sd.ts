// Prometheus' Kubernetes service discovery, role endpoints (discovery/kubernetes/endpoints.go), as
// file_sd target groups: one target per address and port of each Endpoints object, with the
// __meta_kubernetes_* labels Prometheus gives it. Debian's Prometheus is built without Kubernetes
// discovery, so the monitoring test discovers with this and writes the groups where Prometheus'
// file discovery reads them; the ServiceMonitor relabelling (scrape-config.ts) then runs in
// Prometheus unchanged. Pure.
import type { V1Endpoints, V1Pod, V1Service } from "@kubernetes/client-node";

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");

function labelSet(prefix: string, labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    out[`${prefix}_label_${sanitize(key)}`] = value;
    out[`${prefix}_labelpresent_${sanitize(key)}`] = "true";
  }
  return out;
}

function podLabels(pod: V1Pod, port: number): Record<string, string> {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const labels: Record<string, string> = {
    __meta_kubernetes_pod_name: pod.metadata?.name ?? "",
    __meta_kubernetes_pod_ip: pod.status?.podIP ?? "",
    __meta_kubernetes_pod_node_name: pod.spec?.nodeName ?? "",
    __meta_kubernetes_pod_host_ip: pod.status?.hostIP ?? "",
    __meta_kubernetes_pod_uid: pod.metadata?.uid ?? "",
    __meta_kubernetes_pod_phase: pod.status?.phase ?? "",
    __meta_kubernetes_pod_ready: String(ready),
    ...labelSet("__meta_kubernetes_pod", pod.metadata?.labels),
  };
  // The container that declares the endpoint's port number.
  for (const container of pod.spec?.containers ?? []) {
    const declared = container.ports?.find((p) => p.containerPort === port);
    if (!declared) continue;
    labels.__meta_kubernetes_pod_container_name = container.name;
    labels.__meta_kubernetes_pod_container_image = container.image ?? "";
    labels.__meta_kubernetes_pod_container_port_name = declared.name ?? "";
    labels.__meta_kubernetes_pod_container_port_number = String(declared.containerPort);
    labels.__meta_kubernetes_pod_container_port_protocol = declared.protocol ?? "TCP";
  }
  return labels;
}

/** The targets of `endpoints` in `namespaces` (all when undefined), with their Services and Pods. */
export function endpointsTargets(
  objects: { endpoints: V1Endpoints[]; services: V1Service[]; pods: V1Pod[] },
  namespaces?: string[],
): TargetGroup[] {
  const key = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;
  const services = new Map(objects.services.map((s) => [key(s.metadata?.namespace, s.metadata?.name), s]));
  const pods = new Map(objects.pods.map((p) => [key(p.metadata?.namespace, p.metadata?.name), p]));
  const groups: TargetGroup[] = [];
  for (const endpoints of objects.endpoints) {
    const namespace = endpoints.metadata?.namespace ?? "";
    if (namespaces && !namespaces.includes(namespace)) continue;
    const service = services.get(key(namespace, endpoints.metadata?.name));
    const common = {
      __meta_kubernetes_namespace: namespace,
      __meta_kubernetes_endpoints_name: endpoints.metadata?.name ?? "",
      ...labelSet("__meta_kubernetes_endpoints", endpoints.metadata?.labels),
      ...(service && {
        __meta_kubernetes_service_name: service.metadata?.name ?? "",
        ...labelSet("__meta_kubernetes_service", service.metadata?.labels),
      }),
    };
    for (const subset of endpoints.subsets ?? []) {
      const addresses = [
        ...(subset.addresses ?? []).map((a) => ({ address: a, ready: "true" })),
        ...(subset.notReadyAddresses ?? []).map((a) => ({ address: a, ready: "false" })),
      ];
      for (const port of subset.ports ?? []) {
        for (const { address, ready } of addresses) {
          const target = address.targetRef;
          const pod =
            target?.kind === "Pod" ? pods.get(key(target.namespace ?? namespace, target.name)) : undefined;
          groups.push({
            targets: [`${address.ip}:${port.port}`],
            labels: {
              ...common,
              __meta_kubernetes_endpoint_ready: ready,
              __meta_kubernetes_endpoint_port_name: port.name ?? "",
              __meta_kubernetes_endpoint_port_protocol: port.protocol ?? "TCP",
              ...(address.nodeName && { __meta_kubernetes_endpoint_node_name: address.nodeName }),
              ...(address.hostname && { __meta_kubernetes_endpoint_hostname: address.hostname }),
              ...(target && {
                __meta_kubernetes_endpoint_address_target_kind: target.kind ?? "",
                __meta_kubernetes_endpoint_address_target_name: target.name ?? "",
              }),
              ...(pod && podLabels(pod, port.port)),
            },
          });
        }
      }
    }
  }
  return groups;
}
