// ServiceMonitors → Prometheus scrape configs, the way prometheus-operator translates them (its
// pkg/prometheus/promcfg.go), for the parts Postern's ServiceMonitors use: the Service selector's
// matchLabels, the namespace selector, and each endpoint's port name, path, interval and honorLabels.
// Targets get the labels prometheus-operator gives them: namespace, service, pod, container,
// endpoint, and job = the Service's name. Targets come from Prometheus' own Kubernetes service
// discovery (role endpoints) in the cluster of a kubeconfig, in the namespaces each ServiceMonitor
// selects. Pure; a test runs Prometheus with its output.

export interface ServiceMonitorSpec {
  metadata: { name: string; namespace: string };
  spec: {
    selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    jobLabel?: string;
    endpoints: { port?: string; path?: string; interval?: string; honorLabels?: boolean; scheme?: string }[];
  };
}

export interface ScrapeOptions {
  /** The cluster Prometheus discovers the targets in, and its credentials. */
  kubeconfig: string;
  /** Replaces every endpoint's interval (tests scrape every second). */
  interval?: string;
}

/** Prometheus' spelling of a Kubernetes label in __meta_* names. */
const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");
const literal = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function scrapeConfigs(monitors: ServiceMonitorSpec[], options: ScrapeOptions): object[] {
  return monitors.flatMap((monitor) => {
    const { metadata, spec } = monitor;
    if (spec.selector.matchExpressions?.length) {
      throw new Error(
        `ServiceMonitor ${metadata.namespace}/${metadata.name}: matchExpressions not translated`,
      );
    }
    const namespaces = spec.namespaceSelector?.any
      ? undefined
      : (spec.namespaceSelector?.matchNames ?? [metadata.namespace]);
    return spec.endpoints.map((endpoint, i) => {
      if (endpoint.port === undefined) {
        throw new Error(
          `ServiceMonitor ${metadata.namespace}/${metadata.name}: endpoint ${i} without a port name`,
        );
      }
      const selector = Object.entries(spec.selector.matchLabels ?? {}).map(([key, value]) => ({
        action: "keep",
        source_labels: [
          `__meta_kubernetes_service_label_${sanitize(key)}`,
          `__meta_kubernetes_service_labelpresent_${sanitize(key)}`,
        ],
        regex: `(${literal(value)});true`,
      }));
      return {
        job_name: `serviceMonitor/${metadata.namespace}/${metadata.name}/${i}`,
        honor_labels: endpoint.honorLabels ?? false,
        scheme: endpoint.scheme ?? "http",
        metrics_path: endpoint.path ?? "/metrics",
        ...((options.interval ?? endpoint.interval) && {
          scrape_interval: options.interval ?? endpoint.interval,
        }),
        kubernetes_sd_configs: [
          {
            role: "endpoints",
            kubeconfig_file: options.kubeconfig,
            ...(namespaces && { namespaces: { names: namespaces } }),
          },
        ],
        relabel_configs: [
          { source_labels: ["job"], target_label: "__tmp_prometheus_job_name" },
          ...selector,
          {
            action: "keep",
            source_labels: ["__meta_kubernetes_endpoint_port_name"],
            regex: literal(endpoint.port),
          },
          {
            source_labels: [
              "__meta_kubernetes_endpoint_address_target_kind",
              "__meta_kubernetes_endpoint_address_target_name",
            ],
            separator: ";",
            regex: "Node;(.*)",
            target_label: "node",
          },
          {
            source_labels: [
              "__meta_kubernetes_endpoint_address_target_kind",
              "__meta_kubernetes_endpoint_address_target_name",
            ],
            separator: ";",
            regex: "Pod;(.*)",
            target_label: "pod",
          },
          { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
          { source_labels: ["__meta_kubernetes_service_name"], target_label: "service" },
          { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
          { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container" },
          { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "(Failed|Succeeded)" },
          {
            source_labels: [
              spec.jobLabel
                ? `__meta_kubernetes_service_label_${sanitize(spec.jobLabel)}`
                : "__meta_kubernetes_service_name",
            ],
            target_label: "job",
          },
          { target_label: "endpoint", replacement: endpoint.port },
        ],
      };
    });
  });
}
