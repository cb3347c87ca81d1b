import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_COMMAND,
  type DeploymentOptions,
  deployment,
  terminationGracePeriodSeconds,
} from "./deployment.ts";
import { labels, objectMeta, selectorLabels } from "./labels.ts";
import { everything, gatewayOf, renderErrorOf } from "./test-fixtures.ts";
import { podVolumes } from "./volumes.ts";

const options: DeploymentOptions = { gatewayImage: "ghcr.io/postern/gateway:0.1.0" };

function rendered(spec: Parameters<typeof gatewayOf>[0] = {}, opts: DeploymentOptions = options) {
  const object = deployment(gatewayOf(spec), opts);
  const pod = object.spec?.template.spec;
  const container = pod?.containers[0];
  assert.ok(pod && container);
  return { object, pod, container };
}

describe("deployment", () => {
  it("is <gw>, selecting its pods by the selector labels, with the pod template labelled", () => {
    const { object } = rendered(everything);
    assert.equal(object.apiVersion, "apps/v1");
    assert.equal(object.kind, "Deployment");
    assert.deepEqual(object.metadata, objectMeta(gatewayOf(everything), "corp"));
    assert.equal(object.spec?.replicas, 3);
    assert.deepEqual(object.spec?.selector, { matchLabels: selectorLabels("corp") });
    assert.deepEqual(object.spec?.template.metadata, {
      labels: labels("corp"),
      annotations: { "example.com/team": "mail" },
    });
  });

  it("keeps replicas 0", () => {
    assert.equal(rendered({ replicas: 0 }).object.spec?.replicas, 0);
  });

  it("rolls one pod at a time, never below the replicas", () => {
    assert.deepEqual(rendered().object.spec?.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it("runs under restricted Pod Security, as its own ServiceAccount without a token", () => {
    const { pod, container } = rendered();
    assert.equal(pod.serviceAccountName, "corp");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.enableServiceLinks, false);
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.equal(pod.containers.length, 1);
    assert.equal(pod.initContainers, undefined);
    assert.equal(pod.hostNetwork, undefined);
  });

  it("runs spec.image, else the operator's gateway image, with the given pull policy and command", () => {
    const defaults = rendered().container;
    assert.equal(defaults.name, "gateway");
    assert.equal(defaults.image, "ghcr.io/postern/gateway:0.1.0");
    assert.equal(defaults.imagePullPolicy, "IfNotPresent");
    assert.deepEqual(defaults.command, [
      "node",
      "--max-semi-space-size=8",
      "/app/gateway/cli/postern-gateway.ts",
      "--config",
      "/etc/postern/config",
    ]);
    assert.deepEqual(defaults.command, [...DEFAULT_COMMAND]);
    const custom = rendered(everything, {
      ...options,
      imagePullPolicy: "Never",
      command: ["postern-gateway", "--config", "/x"],
    }).container;
    assert.equal(custom.image, "registry.example.com/postern/gateway:1.2.3");
    assert.equal(custom.imagePullPolicy, "Never");
    assert.deepEqual(custom.command, ["postern-gateway", "--config", "/x"]);
  });

  it("exposes each listener on its container port, and the metrics port", () => {
    assert.deepEqual(rendered(everything).container.ports, [
      { name: "submission", containerPort: 10587, protocol: "TCP" },
      { name: "submissions", containerPort: 10465, protocol: "TCP" },
      { name: "legacy", containerPort: 2525, protocol: "TCP" },
      { name: "metrics", containerPort: 9100, protocol: "TCP" },
    ]);
  });

  it("sets MALLOC_ARENA_MAX, and the OTel variables only when tracing is on", () => {
    assert.deepEqual(rendered().container.env, [{ name: "MALLOC_ARENA_MAX", value: "2" }]);
    assert.deepEqual(rendered(everything).container.env, [
      { name: "MALLOC_ARENA_MAX", value: "2" },
      {
        name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        value: "http://otel-collector.observability:4318/v1/traces",
      },
      { name: "OTEL_TRACES_SAMPLER", value: "parentbased_traceidratio" },
      { name: "OTEL_TRACES_SAMPLER_ARG", value: "0.25" },
      { name: "OTEL_SERVICE_NAME", value: "corp.mail" },
    ]);
  });

  it("probes /livez and /readyz on the metrics port, readiness every 2 s", () => {
    const { container } = rendered();
    assert.deepEqual(container.livenessProbe, {
      httpGet: { path: "/livez", port: "metrics", scheme: "HTTP" },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    assert.deepEqual(container.readinessProbe, {
      httpGet: { path: "/readyz", port: "metrics", scheme: "HTTP" },
      periodSeconds: 2,
      timeoutSeconds: 1,
      failureThreshold: 2,
    });
  });

  it("gives the gateway its drain grace plus one upstream reply before SIGKILL", () => {
    assert.equal(rendered().pod.terminationGracePeriodSeconds, 25 + 60 + 5);
    assert.equal(rendered(everything).pod.terminationGracePeriodSeconds, 25 + 120 + 5);
    assert.equal(
      terminationGracePeriodSeconds(gatewayOf({ relay: { host: "r", timeouts: { socket: "1500ms" } } }).spec),
      32,
    );
  });

  it("takes resources, node selector, tolerations and priority class from spec.pod", () => {
    const { pod, container } = rendered(everything);
    assert.deepEqual(container.resources, {
      limits: { memory: "256Mi", cpu: "1" },
      requests: { cpu: "100m", memory: "128Mi" },
    });
    assert.deepEqual(pod.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.deepEqual(pod.tolerations, [
      { key: "dedicated", operator: "Equal", value: "mail", effect: "NoSchedule" },
    ]);
    assert.equal(pod.priorityClassName, "mail-critical");
    const plain = rendered();
    assert.equal(plain.container.resources, undefined);
    for (const field of ["nodeSelector", "tolerations", "priorityClassName", "affinity"]) {
      assert.equal(field in plain.pod, false, field);
    }
  });

  it("spreads replicas over nodes and zones unless spec.pod.affinity says otherwise", () => {
    const spread = (topologyKey: string) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: selectorLabels("corp") },
      matchLabelKeys: ["pod-template-hash"],
    });
    assert.deepEqual(rendered().pod.topologySpreadConstraints, [
      spread("kubernetes.io/hostname"),
      spread("topology.kubernetes.io/zone"),
    ]);
    const affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { "postern.io/gateway": "corp" } },
          },
        ],
      },
    };
    const custom = rendered({ pod: { affinity } }).pod;
    assert.deepEqual(custom.affinity, affinity);
    assert.equal("topologySpreadConstraints" in custom, false);
  });

  it("mounts the volumes of podVolumes, every mount backed by a volume", () => {
    const { pod, container } = rendered(everything);
    const expected = podVolumes("corp", gatewayOf(everything).spec);
    assert.deepEqual(pod.volumes, expected.volumes);
    assert.deepEqual(container.volumeMounts, expected.volumeMounts);
    const volumes = new Set(pod.volumes?.map((v) => v.name));
    for (const mount of container.volumeMounts ?? []) assert.ok(volumes.has(mount.name), mount.name);
  });

  it("is byte-identical for the same spec and options", () => {
    const a = JSON.stringify(deployment(gatewayOf(everything), options));
    const b = JSON.stringify(deployment(gatewayOf(everything), options));
    assert.equal(a, b);
  });

  it("passes on what cannot be rendered", () => {
    renderErrorOf(
      () => deployment(gatewayOf({ observability: { metricsPort: 10465 } }), options),
      "spec.listeners[1].port",
    );
  });
});
