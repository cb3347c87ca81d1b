// The gateway Deployment. Pure and deterministic (the same gateway and options give an identical
// object), so the controller can compare it with what runs; only spec changes that must restart the
// gateway (image, listeners, resources, scheduling) change the pod template, everything else reaches
// the pods through their volumes.
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodSpec,
  V1ResourceRequirements,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import { durationMilliseconds } from "../../crds/schema/duration.ts";
import type { SubmissionGateway, SubmissionGatewaySpec } from "../../crds/schema/submission-gateway.ts";
import { GATEWAY_NODE_FLAGS } from "../../gateway/cli/node-flags.ts";
import { SHUTDOWN_GRACE_SECONDS } from "./gateway-config.ts";
import { gatewayIdentity, labels, mountPaths, objectMeta, selectorLabels } from "./labels.ts";
import { listenerPorts, METRICS_PORT_NAME } from "./ports.ts";
import { podVolumes } from "./volumes.ts";

/** What the operator's flags decide about every gateway pod. */
export interface DeploymentOptions {
  /** The operator's --gateway-image, for gateways without spec.image. */
  gatewayImage: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  command?: readonly string[];
}

export const DEFAULT_COMMAND = [
  "node",
  ...GATEWAY_NODE_FLAGS,
  "/app/gateway/cli/postern-gateway.ts",
  "--config",
  mountPaths.config,
] as const;

/** The gateway container's name in the pod. */
export const CONTAINER_NAME = "gateway";

/** The unprivileged user and group the gateway runs as (distroless "nonroot"). */
export const GATEWAY_USER = 65532;

type Spec = SubmissionGatewaySpec;

function env(gateway: string, namespace: string, { observability }: Spec): V1EnvVar[] {
  const tracing = observability.tracing;
  return [
    // glibc's per-thread malloc arenas multiply a Node.js process's resident memory for no gain.
    { name: "MALLOC_ARENA_MAX", value: "2" },
    ...(tracing === undefined
      ? []
      : [
          { name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value: tracing.otlpEndpoint },
          // Sessions whose caller sampled them stay sampled; the ratio decides for the rest.
          { name: "OTEL_TRACES_SAMPLER", value: "parentbased_traceidratio" },
          { name: "OTEL_TRACES_SAMPLER_ARG", value: String(tracing.samplingRatio) },
          { name: "OTEL_SERVICE_NAME", value: `${gateway}.${namespace}` },
        ]),
  ];
}

function resources(spec: Spec): V1ResourceRequirements | undefined {
  const wanted = spec.pod?.resources;
  if (wanted === undefined) return undefined;
  const strings = (quantities: Record<string, string | number> | undefined) =>
    quantities && Object.fromEntries(Object.entries(quantities).map(([name, q]) => [name, String(q)]));
  return {
    ...(wanted.limits !== undefined && { limits: strings(wanted.limits) }),
    ...(wanted.requests !== undefined && { requests: strings(wanted.requests) }),
  };
}

function container(gateway: string, namespace: string, spec: Spec, options: DeploymentOptions): V1Container {
  const probe = (path: string) => ({ httpGet: { path, port: METRICS_PORT_NAME, scheme: "HTTP" } });
  const wanted = resources(spec);
  return {
    name: CONTAINER_NAME,
    image: spec.image ?? options.gatewayImage,
    imagePullPolicy: options.imagePullPolicy ?? "IfNotPresent",
    command: [...(options.command ?? DEFAULT_COMMAND)],
    ports: [
      ...listenerPorts(spec).map((l) => ({ name: l.name, containerPort: l.containerPort, protocol: "TCP" })),
      { name: METRICS_PORT_NAME, containerPort: spec.observability.metricsPort, protocol: "TCP" },
    ],
    env: env(gateway, namespace, spec),
    ...(wanted !== undefined && { resources: wanted }),
    livenessProbe: { ...probe("/livez"), periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    // Short: a draining gateway turns unready at once and should leave the Service's endpoints as fast.
    readinessProbe: { ...probe("/readyz"), periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 2 },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: podVolumes(gateway, spec).volumeMounts,
    // A gateway that exits on a bad configuration says why in the pod's status.
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

/** Replicas spread over nodes and zones, preferably: a cluster of one node or zone still runs them all. */
function spread(gateway: string): V1TopologySpreadConstraint[] {
  return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: selectorLabels(gateway) },
    // Spread each revision on its own, so a rollout does not count the pods it is replacing.
    matchLabelKeys: ["pod-template-hash"],
  }));
}

/**
 * SIGTERM to SIGKILL: the gateway's drain grace, then one upstream reply for a message being relayed
 * at its end (killing it then would make the client resend a message the upstream holds), and a margin.
 */
export function terminationGracePeriodSeconds(spec: Spec): number {
  return SHUTDOWN_GRACE_SECONDS + Math.ceil(durationMilliseconds(spec.relay.timeouts.socket) / 1000) + 5;
}

function podSpec(gateway: string, namespace: string, spec: Spec, options: DeploymentOptions): V1PodSpec {
  // A copy: the result must share nothing with the gateway, which lives in the informer's cache.
  const pod = structuredClone(spec.pod);
  return {
    serviceAccountName: gateway,
    automountServiceAccountToken: false,
    // The gateway reads no Service environment variables; thousands of Services would only bloat them.
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: GATEWAY_USER,
      runAsGroup: GATEWAY_USER,
      fsGroup: GATEWAY_USER,
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(spec),
    containers: [container(gateway, namespace, spec, options)],
    volumes: podVolumes(gateway, spec).volumes,
    ...(pod?.nodeSelector !== undefined && { nodeSelector: pod.nodeSelector }),
    ...(pod?.tolerations !== undefined && { tolerations: pod.tolerations }),
    ...(pod?.priorityClassName !== undefined && { priorityClassName: pod.priorityClassName }),
    ...(pod?.affinity !== undefined
      ? { affinity: pod.affinity }
      : { topologySpreadConstraints: spread(gateway) }),
  };
}

export function deployment(gateway: SubmissionGateway, options: DeploymentOptions): V1Deployment {
  const { name, namespace } = gatewayIdentity(gateway);
  const spec = gateway.spec;
  const annotations = spec.pod?.annotations && { ...spec.pod.annotations };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(gateway, name),
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(name) },
      // A new pod must be ready before an old one drains, one at a time: mail keeps flowing.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(name), ...(annotations !== undefined && { annotations }) },
        spec: podSpec(name, namespace, spec, options),
      },
    },
  };
}
