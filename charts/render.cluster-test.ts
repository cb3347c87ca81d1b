// The Helm chart as the real helm renders it, and what a real kube-apiserver (the run's control plane,
// no node) makes of the result: lint, the switches and what they render, the values schema refusing
// bad values, server-side dry-run apply of every object, and restricted Pod Security admitting the
// chart's pods.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { test } from "node:test";
import type { V1Container, V1Deployment, V1Pod, V1PolicyRule } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { freshNamespace, kubectl } from "../hack/testing/cluster.ts";
import { installMonitoringCrds } from "../hack/testing/monitoring-crds.ts";
import { parseOperatorFlags } from "../operator/cli/flags.ts";
import { apply } from "../operator/testing/cluster-objects.ts";
import {
  CHART,
  helm,
  helmOk,
  objectsOf,
  type RenderedObject,
  SCRATCH_DASHBOARD,
  scratchChart,
  valuesFile,
} from "./testing/helm.ts";

const MONITORING = "monitoring.coreos.com/v1";

/** `helm template` of `chart` as release "postern" in `namespace`; the rendered objects. */
async function render(args: string[] = [], namespace = "postern-system", chart = CHART) {
  return objectsOf(await helmOk(["template", "postern", chart, "--namespace", namespace, ...args]));
}

const kinds = (objects: RenderedObject[]) => objects.map((o) => o.kind);
const ofKind = (objects: RenderedObject[], kind: string) => objects.filter((o) => o.kind === kind);
const one = (objects: RenderedObject[], kind: string) => {
  const found = ofKind(objects, kind);
  assert.equal(found.length, 1, `one ${kind} in ${kinds(objects).join(", ")}`);
  return found[0] as RenderedObject;
};
const operatorContainer = (objects: RenderedObject[]) =>
  (one(objects, "Deployment") as V1Deployment).spec?.template.spec?.containers[0] as V1Container;

/** Values that switch everything on, in namespaces that exist in the test cluster. */
function everythingOn(watched: string, dashboards: string) {
  return {
    watchNamespaces: [watched],
    gatewayImage: { repository: "registry.example/postern", tag: "1.2.3", pullPolicy: "Always" },
    imagePullSecrets: [{ name: "regcred" }],
    leaderElection: { leaseDuration: "30s", renewDeadline: "20s", retryPeriod: "4s" },
    workers: 8,
    resync: "5m",
    logLevel: "debug",
    podAnnotations: { "example.com/team": "mail" },
    podLabels: { "example.com/tier": "control" },
    nodeSelector: { "kubernetes.io/os": "linux" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "mail", effect: "NoSchedule" }],
    serviceAccount: { annotations: { "example.com/owner": "mail" } },
    networkPolicy: {
      enabled: true,
      metricsFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
    },
    monitoring: {
      serviceMonitor: { enabled: true, labels: { release: "prometheus" } },
      prometheusRule: { enabled: true, labels: { release: "prometheus" } },
      dashboards: {
        enabled: true,
        namespace: dashboards,
        labelValue: "postern",
        annotations: { grafana_folder: "Postern" },
      },
    },
    test: {
      enabled: true,
      gateway: "corp",
      namespace: watched,
      credentialsSecret: { name: "probe-login" },
      caSecret: { name: "gateway-ca" },
      serverName: "smtp.example.com",
    },
  };
}

test("helm lint --strict passes with the default values and with everything on", async (t) => {
  const lint = await helm(["lint", "--strict", CHART]);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
  const chart = await scratchChart(t);
  const values = await valuesFile(t, everythingOn("mail", "grafana"));
  const all = await helm(["lint", "--strict", chart, "--values", values]);
  assert.equal(all.code, 0, all.stdout + all.stderr);
});

test("crds.enabled: both CRDs, annotated to be kept on uninstall; none when false", async () => {
  const crds = ofKind(await render(), "CustomResourceDefinition");
  assert.deepEqual(crds.map((c) => c.metadata?.name).sort(), [
    "smtpusers.postern.io",
    "submissiongateways.postern.io",
  ]);
  for (const crd of crds) assert.equal(crd.metadata?.annotations?.["helm.sh/resource-policy"], "keep");
  assert.deepEqual(ofKind(await render(["--set", "crds.enabled=false"]), "CustomResourceDefinition"), []);
});

test("monitoring: absent by default, rendered when the cluster serves monitoring.coreos.com/v1 or when forced", async (t) => {
  const chart = await scratchChart(t);
  const monitoringKinds = (objects: RenderedObject[]) =>
    kinds(objects.filter((o) => o.apiVersion === MONITORING)).sort();
  assert.deepEqual(monitoringKinds(await render([], "postern-system", chart)), []);
  assert.deepEqual(monitoringKinds(await render(["--api-versions", MONITORING], "postern-system", chart)), [
    "PrometheusRule",
    "ServiceMonitor",
  ]);
  const forced = ["--set", "monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true"];
  const objects = await render(forced, "postern-system", chart);
  assert.deepEqual(monitoringKinds(objects), ["PrometheusRule", "ServiceMonitor"]);
  const off = ["--set", "monitoring.serviceMonitor.enabled=false,monitoring.prometheusRule.enabled=false"];
  assert.deepEqual(
    monitoringKinds(await render([...off, "--api-versions", MONITORING], "postern-system", chart)),
    [],
  );

  await t.test("the ServiceMonitor scrapes the metrics Service's port named metrics at /metrics", () => {
    const service = one(objects, "Service") as RenderedObject & {
      spec: { ports: { name: string }[] };
    };
    const monitor = one(objects, "ServiceMonitor") as RenderedObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string; honorLabels: boolean }[];
      };
    };
    assert.deepEqual(
      service.spec.ports.map((p) => p.name),
      ["metrics"],
    );
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      assert.equal(service.metadata?.labels?.[key], value, `the Service has ${key}=${value}`);
    }
    assert.deepEqual(monitor.spec.endpoints, [
      { port: "metrics", path: "/metrics", interval: "30s", honorLabels: true },
    ]);
  });

  await t.test("the PrometheusRule's spec is the chart's rule file", async () => {
    const rule = one(objects, "PrometheusRule") as RenderedObject & { spec: { groups: unknown[] } };
    const file = objectsOf(await readFile(`${chart}/files/prometheus-rules.yaml`, "utf8"));
    assert.deepEqual(rule.spec, file[0]);
    assert.ok(rule.spec.groups.length > 0);
  });
});

test("dashboards: one ConfigMap per dashboard file, labelled for Grafana's sidecar, only when enabled", async (t) => {
  const chart = await scratchChart(t);
  const configMaps = (objects: RenderedObject[]) =>
    ofKind(objects, "ConfigMap").filter((c) => c.metadata?.name?.includes("-dashboard-"));
  assert.deepEqual(configMaps(await render([], "postern-system", chart)), []);
  const objects = await render(
    ["--set", "monitoring.dashboards.enabled=true,monitoring.dashboards.namespace=grafana"],
    "postern-system",
    chart,
  );
  const dashboards = configMaps(objects) as (RenderedObject & { data: Record<string, string> })[];
  const files = (await readdir(`${chart}/files/dashboards`)).filter((f) => f.endsWith(".json"));
  assert.equal(dashboards.length, files.length);
  const scratch = dashboards.find((d) => d.data[SCRATCH_DASHBOARD] !== undefined);
  assert.ok(scratch, "the scratch dashboard's ConfigMap");
  assert.equal(scratch.metadata?.name, "postern-operator-dashboard-scratch-dashboard");
  assert.equal(scratch.metadata?.namespace, "grafana");
  assert.equal(scratch.metadata?.labels?.grafana_dashboard, "1");
  assert.deepEqual(JSON.parse(scratch.data[SCRATCH_DASHBOARD] ?? ""), { title: "Scratch", panels: [] });
  const relabelled = configMaps(
    await render(
      [
        "--set",
        "monitoring.dashboards.enabled=true,monitoring.dashboards.labelKey=dashboards,monitoring.dashboards.labelValue=postern",
      ],
      "postern-system",
      chart,
    ),
  );
  assert.ok(
    relabelled.every(
      (d) =>
        d.metadata?.labels?.dashboards === "postern" && !("grafana_dashboard" in (d.metadata?.labels ?? {})),
    ),
  );
});

test("watchNamespaces: a Role and RoleBinding in each, the ClusterRole's rules, nothing cluster-wide", async () => {
  const cluster = await render();
  const clusterRole = one(cluster, "ClusterRole") as RenderedObject & { rules: V1PolicyRule[] };
  assert.equal(one(cluster, "ClusterRoleBinding").metadata?.name, "postern-operator");
  assert.ok(!operatorContainer(cluster).args?.some((a) => a.startsWith("--namespaces")));

  const narrowed = await render(["--set", "watchNamespaces={mail,relay}"]);
  assert.deepEqual(ofKind(narrowed, "ClusterRole"), []);
  assert.deepEqual(ofKind(narrowed, "ClusterRoleBinding"), []);
  for (const namespace of ["mail", "relay"]) {
    const role = narrowed.find((o) => o.kind === "Role" && o.metadata?.namespace === namespace) as
      | (RenderedObject & { rules: V1PolicyRule[] })
      | undefined;
    assert.deepEqual(role?.rules, clusterRole.rules, `the Role in ${namespace}`);
    const binding = narrowed.find((o) => o.kind === "RoleBinding" && o.metadata?.namespace === namespace) as
      | (RenderedObject & { roleRef: { kind: string; name: string }; subjects: unknown[] })
      | undefined;
    assert.deepEqual(binding?.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "postern-operator",
    });
    assert.deepEqual(binding?.subjects, [
      { kind: "ServiceAccount", name: "postern-operator", namespace: "postern-system" },
    ]);
  }
  assert.ok(operatorContainer(narrowed).args?.includes("--namespaces=mail,relay"));
  // The leader-election Role stays in the release's namespace either way.
  assert.ok(
    narrowed.some((o) => o.kind === "Role" && o.metadata?.name === "postern-operator-leader-election"),
  );
});

test("the values reach the operator's flags, and the operator's own parser accepts them", async (t) => {
  const values = await valuesFile(t, everythingOn("mail", "grafana"));
  const objects = await render(["--values", values]);
  const container = operatorContainer(objects);
  const flags = parseOperatorFlags(container.args ?? []);
  assert.equal(flags.gatewayImage, "registry.example/postern:1.2.3");
  assert.equal(flags.gatewayImagePullPolicy, "Always");
  assert.deepEqual(flags.namespaces, ["mail"]);
  assert.equal(flags.leaderElectionId, "postern-operator");
  assert.deepEqual(
    [flags.leaseDurationSeconds, flags.renewDeadlineSeconds, flags.retryPeriodSeconds],
    [30, 20, 4],
  );
  assert.deepEqual([flags.workers, flags.resyncSeconds, flags.logLevel], [8, 300, "debug"]);
  assert.equal(container.image, "ghcr.io/postern-io/postern:0.1.0", "the image's tag defaults to appVersion");

  const defaults = parseOperatorFlags(operatorContainer(await render()).args ?? []);
  assert.equal(
    defaults.gatewayImage,
    "ghcr.io/postern-io/postern:0.1.0",
    "gateways run the operator's image",
  );
  assert.equal(defaults.gatewayImagePullPolicy, "IfNotPresent");
  assert.equal((one(await render(), "Deployment") as V1Deployment).spec?.replicas, 2);
});

test("bad values are refused by the schema, naming the field", async () => {
  for (const [set, message] of [
    ["replicas=0", /replicas: Must be greater than or equal to 1/],
    ["replicass=2", /Additional property replicass is not allowed/],
    ["monitoring.serviceMonitor.enabled=sometimes", /monitoring\.serviceMonitor\.enabled/],
    ["leaderElection.leaseDuration=soon", /leaderElection\.leaseDuration: Does not match pattern/],
    ["logLevel=loud", /logLevel: logLevel must be one of/],
    ["watchNamespaces={Mail}", /watchNamespaces\.0: Does not match pattern/],
    ["image.pullPolicy=Sometimes", /image\.pullPolicy: image\.pullPolicy must be one of/],
    [
      "networkPolicy.metricsFrom[0].podSelecter.app=prometheus",
      /networkPolicy\.metricsFrom\.0: Additional property podSelecter is not allowed/,
    ],
  ] as const) {
    const result = await helm(["template", "postern", CHART, "--set", set]);
    assert.notEqual(result.code, 0, set);
    assert.match(result.stderr, message, set);
  }
});

test("leader-election timings out of order are refused at install, naming the value", async () => {
  for (const [set, message] of [
    [
      "leaderElection.renewDeadline=30s",
      /leaderElection\.renewDeadline: 30s must be shorter than leaderElection\.leaseDuration \(15s\)/,
    ],
    [
      "leaderElection.leaseDuration=1m,leaderElection.renewDeadline=60000ms",
      /leaderElection\.renewDeadline: 60000ms must be shorter/,
    ],
    [
      "leaderElection.retryPeriod=0.5m",
      /leaderElection\.retryPeriod: 0\.5m must be shorter than leaderElection\.renewDeadline \(10s\)/,
    ],
  ] as const) {
    const result = await helm(["template", "postern", CHART, "--set", set]);
    assert.notEqual(result.code, 0, set);
    assert.match(result.stderr, message, set);
  }
  // In order, in other units: rendered, and the operator's own parser agrees.
  const ok = await render([
    "--set",
    "leaderElection.leaseDuration=1m,leaderElection.renewDeadline=45s,leaderElection.retryPeriod=500ms",
  ]);
  const container = (one(ok, "Deployment") as V1Deployment).spec?.template.spec?.containers[0];
  assert.ok(parseOperatorFlags(container?.args ?? []));
});

test("test.enabled without what the probe needs fails, naming the value", async () => {
  for (const [set, message] of [
    ["test.enabled=true", /test\.gateway: the SubmissionGateway to probe is required/],
    [
      "test.enabled=true,test.gateway=corp",
      /test\.credentialsSecret\.name: a Secret with the login is required/,
    ],
    [
      "test.enabled=true,test.gateway=corp,test.credentialsSecret.name=l",
      /test\.caSecret\.name: the gateway certificate's CA is required/,
    ],
  ] as const) {
    const result = await helm(["template", "postern", CHART, "--set", set]);
    assert.notEqual(result.code, 0, set);
    assert.match(result.stderr, message, set);
  }
});

test("the API server accepts every rendered object (server-side dry-run apply)", async (t) => {
  const release = await freshNamespace(t, { "pod-security.kubernetes.io/enforce": "restricted" });
  const watched = await freshNamespace(t);
  const grafana = await freshNamespace(t);
  const chart = await scratchChart(t);
  const values = await valuesFile(t, everythingOn(watched, grafana));
  // The ServiceMonitor and PrometheusRule against prometheus-operator's real CRDs.
  await installMonitoringCrds();
  for (const [name, args] of [
    ["the default values", []],
    ["everything on", ["--values", values, "--api-versions", MONITORING]],
  ] as const) {
    await t.test(name, async () => {
      const objects = await render([...args], release, chart);
      const input = objects.map((o) => `---\n${stringify(o)}`).join("");
      const result = await kubectl(
        [
          "apply",
          "--server-side",
          "--dry-run=server",
          "--force-conflicts",
          "--field-manager=chart-test",
          "-f",
          "-",
        ],
        { input },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim().split("\n").length, objects.length, result.stdout);
    });
  }
});

test("restricted Pod Security admits the operator's pod and the test pod, and refuses a pod without it", async (t) => {
  const namespace = await freshNamespace(t, { "pod-security.kubernetes.io/enforce": "restricted" });
  const values = await valuesFile(t, everythingOn(namespace, namespace));
  const objects = await render(["--values", values], namespace);
  // The ServiceAccount admission plugin wants the pod's ServiceAccount to exist, even on a dry run.
  await apply(one(objects, "ServiceAccount"));
  const deployment = one(objects, "Deployment") as V1Deployment;
  const operatorPod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...deployment.spec?.template.metadata, name: "operator", namespace },
    spec: deployment.spec?.template.spec,
  };
  const testPod = one(objects, "Pod") as V1Pod;
  assert.equal(testPod.metadata?.annotations?.["helm.sh/hook"], "test");
  const create = (pod: V1Pod) =>
    kubectl(["create", "--dry-run=server", "-f", "-"], { input: JSON.stringify(pod) });
  for (const pod of [operatorPod, testPod]) {
    const result = await create(pod);
    assert.equal(result.code, 0, `${pod.metadata?.name}: ${result.stderr}`);
  }
  const loose = structuredClone(operatorPod);
  delete loose.spec?.securityContext;
  delete loose.spec?.containers[0]?.securityContext;
  const refused = await create(loose);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /violates PodSecurity "restricted/);
});
