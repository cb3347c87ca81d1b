// Server-side apply and status writes against the real control plane, on a custom resource of a
// CRD made for this test (a group of its own, so it cannot collide with the Postern CRDs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { freshNamespace, kubeConfig } from "../../hack/testing/cluster.ts";
import { Applier } from "./apply.ts";
import { KubeClient } from "./client.ts";
import { Informer } from "./informer.ts";
import { createOperatorMetrics } from "./metrics.ts";

type Widget = k8s.KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

async function testCrd(t: import("node:test").TestContext): Promise<{ group: string; apiVersion: string }> {
  const group = `rt${Math.random().toString(36).slice(2, 8)}.test.postern.dev`;
  // Plain JSON: client-node's typed CRD model would drop x-kubernetes-preserve-unknown-fields.
  const client = KubeClient.fromKubeConfig(kubeConfig());
  const crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  const name = `widgets.${group}`;
  const open = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  await client.request("POST", crds, {
    body: {
      metadata: { name },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: "object", properties: { spec: open, status: open } } },
          },
        ],
      },
    },
  });
  t.after(() => client.request("DELETE", `${crds}/${name}`));
  for (let i = 0; i < 200; i++) {
    const crd = await client.get<k8s.V1CustomResourceDefinition>(`${crds}/${name}`);
    if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
      return { group, apiVersion: `${group}/v1` };
    }
    await sleep(50);
  }
  throw new Error(`${name} not established`);
}

const writes = async (metrics: ReturnType<typeof createOperatorMetrics>, verb: string): Promise<number> => {
  const values = (await metrics.apiWrites.get()).values;
  return values.filter((v) => v.labels.verb === verb).reduce((sum, v) => sum + v.value, 0);
};

test("apply creates, updates, and skips when nothing differs; status is written only on change", async (t) => {
  const namespace = await freshNamespace(t);
  const { group, apiVersion } = await testCrd(t);
  const metrics = createOperatorMetrics({ defaultMetrics: false });
  const kc = kubeConfig();
  const applier = new Applier({ client: KubeClient.fromKubeConfig(kc), metrics });
  const informer = new Informer<Widget>({
    kubeConfig: kc,
    resource: { group, version: "v1", plural: "widgets" },
    namespace,
  });
  informer.start();
  t.after(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(15_000));
  const cached = async (pred: (w: Widget | undefined) => boolean): Promise<Widget | undefined> => {
    for (let i = 0; i < 300 && !pred(informer.get(`${namespace}/w`)); i++) await sleep(20);
    return informer.get(`${namespace}/w`);
  };

  const desired: Widget = {
    apiVersion,
    kind: "Widget",
    metadata: { name: "w", namespace, labels: { "app.kubernetes.io/managed-by": "postern-operator" } },
    spec: { replicas: 2, ports: [{ port: 587 }, { port: 465 }] },
  };
  const created = await applier.apply(desired, informer.get(`${namespace}/w`));
  assert.equal(created.written, true);
  assert.equal(created.object.metadata?.managedFields?.[0]?.manager, "postern-operator");
  assert.equal(await writes(metrics, "apply"), 1);

  // the same content again, judged against the cache: no write
  const actual = await cached((w) => w !== undefined);
  const again = await applier.apply(structuredClone(desired), actual);
  assert.equal(again.written, false);
  assert.equal(await writes(metrics, "apply"), 1);

  // a change is written, and someone else's field is left alone
  const kco = KubeClient.fromKubeConfig(kc);
  await kco.request("PATCH", `/apis/${apiVersion}/namespaces/${namespace}/widgets/w`, {
    body: { spec: { note: "from a human" } },
    contentType: k8s.PatchStrategy.MergePatch,
  });
  const changed: Widget = { ...desired, spec: { replicas: 3, ports: [{ port: 587 }, { port: 465 }] } };
  const latest = await cached((w) => w?.spec?.note !== undefined);
  const updated = await applier.apply(changed, latest);
  assert.equal(updated.written, true);
  assert.equal(updated.object.spec?.replicas, 3);
  assert.equal(updated.object.spec?.note, "from a human");
  assert.equal(await writes(metrics, "apply"), 2);

  // status: written once, then skipped while the cached status is equal, written again on change
  const status = {
    observedGeneration: 2,
    conditions: [{ type: "Ready", status: "True", reason: "Applied" }],
  };
  assert.equal(await applier.applyStatus(desired, status, (await cached(() => true))?.status), true);
  const withStatus = await cached((w) => w?.status !== undefined);
  assert.deepEqual(withStatus?.status, status);
  assert.equal(withStatus?.spec?.replicas, 3, "the status write did not touch spec");
  assert.equal(await applier.applyStatus(desired, structuredClone(status), withStatus?.status), false);
  const newer = { ...status, observedGeneration: 3 };
  assert.equal(await applier.applyStatus(desired, newer, withStatus?.status), true);
  assert.equal((await cached((w) => w?.status?.observedGeneration === 3))?.status?.observedGeneration, 3);
  assert.equal(await writes(metrics, "apply_status"), 2);
  assert.match(
    await metrics.render(),
    /postern_operator_api_writes_total\{verb="apply_status",resource="widgets"\} 2/,
  );

  // a core kind, cluster-wide discovery: a ConfigMap applied twice is one write
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace }, data: { a: "1" } };
  assert.equal((await applier.apply(cm)).written, true);
  const read = await kco.get<k8s.KubernetesObject>(`/api/v1/namespaces/${namespace}/configmaps/c`);
  assert.equal((await applier.apply(cm, read)).written, false);
  assert.equal(await applier.delete(cm), true);
  assert.equal(await applier.delete(cm), false, "already gone is not a write");
});
