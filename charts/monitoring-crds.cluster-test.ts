// Postern's ServiceMonitors and PrometheusRule against the real prometheus-operator CRDs (generated
// by controller-gen from the pinned API module, hack/tools/monitoring-crds), on a real
// kube-apiserver: the gateway's ServiceMonitor as the operator renders it, the chart's
// ServiceMonitor and PrometheusRule as `helm template` renders them, and the rule file wrapped as a
// PrometheusRule are each accepted and kept; an object breaking the schema is refused, so the check
// can fail.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { parseSubmissionGateway } from "../crds/schema/submission-gateway.ts";
import { freshNamespace } from "../hack/testing/cluster.ts";
import { repoRoot } from "../hack/testing/control-plane.ts";
import { installMonitoringCrds } from "../hack/testing/monitoring-crds.ts";
import { serviceMonitor } from "../operator/render/service-monitor.ts";
import { apply, read } from "../operator/testing/cluster-objects.ts";
import { helmTemplate } from "./release/render.ts";
import { objectsOf, type RenderedObject } from "./testing/helm.ts";

before(installMonitoringCrds);

type Monitoring = k8s.KubernetesObject & { spec: Record<string, unknown> };

const bodyOf = (error: k8s.ApiException<unknown>) =>
  typeof error.body === "string" ? error.body : JSON.stringify(error.body);

/** Server-side applies `object` and asserts the server kept its spec as sent. */
async function accepted(object: Monitoring): Promise<void> {
  const what = `${object.kind} ${object.metadata?.name}`;
  await apply(object).catch((error) => {
    const body = error instanceof k8s.ApiException ? `${error.code} ${bodyOf(error)}` : String(error);
    assert.fail(`${what} refused: ${body}`);
  });
  const stored = await read<Monitoring>(
    "monitoring.coreos.com/v1",
    object.kind ?? "",
    object.metadata?.namespace ?? "",
    object.metadata?.name ?? "",
  );
  // Structural schemas prune unknown fields: a field the CRD does not know would be gone here.
  assert.deepEqual(stored?.spec, object.spec, `${what}: spec kept as sent`);
}

test("the gateway's ServiceMonitor, as the operator renders it, is accepted", async (t) => {
  const namespace = await freshNamespace(t);
  const parsed = parseSubmissionGateway({
    apiVersion: "postern.io/v1alpha1",
    kind: "SubmissionGateway",
    metadata: { name: "corp", namespace, uid: "9d6b3c1e-4c35-4d0f-9a43-2f7b0d1c5e11" },
    spec: {
      tls: { secretRef: { name: "corp-tls" } },
      relay: { host: "smtp.example.com" },
      observability: { serviceMonitor: { enabled: true, interval: "90s", labels: { release: "kube-prom" } } },
    },
  });
  assert.ok(parsed.ok);
  const monitor = serviceMonitor(parsed.value);
  assert.ok(monitor);
  // Without its ownerReference: the gateway does not exist here, and the garbage collector would
  // delete the object before it is read back.
  await accepted({ ...monitor, metadata: { ...monitor.metadata, ownerReferences: undefined } });
});

test("the chart's ServiceMonitor and PrometheusRule, as helm template renders them, are accepted", async (t) => {
  const namespace = await freshNamespace(t);
  const rendered = await helmTemplate(["--api-versions", "monitoring.coreos.com/v1"], {
    name: "postern",
    namespace,
  });
  const objects = objectsOf(rendered).filter(
    (o): o is RenderedObject & Monitoring => o.apiVersion === "monitoring.coreos.com/v1",
  );
  assert.deepEqual(objects.map((o) => o.kind).sort(), ["PrometheusRule", "ServiceMonitor"]);
  for (const object of objects) await accepted(object);
});

test("the rule file, wrapped as a PrometheusRule, is accepted", async (t) => {
  const namespace = await freshNamespace(t);
  const rules = parse(readFileSync(join(repoRoot, "charts/postern/files/prometheus-rules.yaml"), "utf8"));
  await accepted({
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "postern", namespace },
    spec: rules,
  });
});

test("objects breaking the CRDs' schemas are refused, so the checks above can fail", async (t) => {
  const namespace = await freshNamespace(t);
  const refused = (object: Monitoring, reason: RegExp) =>
    assert.rejects(apply(object), (error) => {
      assert.ok(error instanceof k8s.ApiException, String(error));
      assert.equal(error.code, 422, bodyOf(error));
      assert.match(bodyOf(error), reason);
      return true;
    });
  await refused(
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "bad-interval", namespace },
      spec: { selector: {}, endpoints: [{ port: "metrics", interval: "30s1m" }] },
    },
    /interval/,
  );
  await refused(
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "bad-for", namespace },
      spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "up == 0", for: "five minutes" }] }] },
    },
    /for/,
  );
});
