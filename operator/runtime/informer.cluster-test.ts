// The informer against the shared real control plane: list, then watch; adds, updates, deletes;
// indexes; a transform; pagination.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { freshNamespace, kubeConfig } from "../../hack/testing/cluster.ts";
import { eventually, when } from "../../hack/testing/eventually.ts";
import { Informer } from "./informer.ts";

type ConfigMap = k8s.KubernetesObject & { data?: Record<string, string> };

test("informer lists, then watches adds, updates and deletes; indexes follow", async (t) => {
  const namespace = await freshNamespace(t);
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  // more than one page of the list
  for (let i = 0; i < 5; i++) {
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: `pre-${i}`, labels: { gateway: i % 2 ? "odd" : "even" } },
        data: { i: String(i) },
      },
    });
  }
  const events: string[] = [];
  const informer = new Informer<ConfigMap>({
    kubeConfig: kubeConfig(),
    resource: { group: "", version: "v1", plural: "configmaps" },
    namespace,
    pageSize: 2,
    indexes: { gateway: (cm) => [cm.metadata?.labels?.gateway ?? ""] },
    transform: (cm) => {
      delete cm.metadata?.managedFields;
      return cm;
    },
  });
  informer.addHandlers({
    onAdd: (cm) => events.push(`add ${cm.metadata?.name}`),
    onUpdate: (old, cm) => events.push(`update ${cm.metadata?.name} ${old.data?.i}->${cm.data?.i}`),
    onDelete: (cm) => events.push(`delete ${cm.metadata?.name} ${cm.data?.i}`),
  });
  informer.start();
  t.after(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(15_000));
  assert.ok(informer.hasSynced());
  // kube-root-ca.crt is made by kube-controller-manager in every namespace
  const pre = informer.keys().filter((k) => k.includes("/pre-"));
  assert.equal(pre.length, 5);
  assert.equal(informer.stats.lists, 1);
  const cached = informer.get(`${namespace}/pre-1`);
  assert.equal(cached?.kind, "ConfigMap", "list items get apiVersion/kind like watch events");
  assert.equal(cached?.apiVersion, "v1");
  assert.equal(cached?.metadata?.managedFields, undefined, "transformed before caching");
  assert.deepEqual(
    informer
      .byIndex("gateway", "odd")
      .map((cm) => cm.metadata?.name)
      .sort(),
    ["pre-1", "pre-3"],
  );

  events.length = 0;
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "new", labels: { gateway: "odd" } }, data: { i: "9" } },
  });
  await core.patchNamespacedConfigMap(
    { namespace, name: "pre-1", body: { data: { i: "10" }, metadata: { labels: { gateway: "even" } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  await core.deleteNamespacedConfigMap({ namespace, name: "pre-2" });
  await eventually(
    "three events",
    when(() => events.length >= 3),
    15_000,
    25,
  );
  assert.deepEqual(
    events.filter((e) => !e.includes("kube-root-ca")),
    ["add new", "update pre-1 1->10", "delete pre-2 2"],
  );
  assert.equal(informer.get(`${namespace}/pre-2`), undefined);
  assert.equal(informer.get(`${namespace}/pre-1`)?.data?.i, "10");
  assert.deepEqual(
    informer
      .byIndex("gateway", "odd")
      .map((cm) => cm.metadata?.name)
      .sort(),
    ["new", "pre-3"],
  );
  assert.equal(informer.stats.lists, 1, "no relist for ordinary events");

  // handlers added late get the cache as adds
  const late: string[] = [];
  informer.addHandlers({ onAdd: (cm) => late.push(cm.metadata?.name ?? "") });
  assert.ok(late.includes("new") && late.includes("pre-1") && !late.includes("pre-2"));
});

test("informer with a label selector sees only matching objects, and stop() ends it", async (t) => {
  const namespace = await freshNamespace(t);
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const informer = new Informer<ConfigMap>({
    kubeConfig: kubeConfig(),
    resource: { group: "", version: "v1", plural: "configmaps" },
    namespace,
    labelSelector: "postern.io/gateway=a",
  });
  const seen: string[] = [];
  informer.addHandlers({ onAdd: (cm) => seen.push(cm.metadata?.name ?? "") });
  informer.start();
  await informer.waitForSync(AbortSignal.timeout(15_000));
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "other" } } });
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "mine", labels: { "postern.io/gateway": "a" } } },
  });
  await eventually(
    "the matching object",
    when(() => seen.includes("mine")),
    15_000,
    25,
  );
  assert.deepEqual(seen, ["mine"]);
  await informer.stop();
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "after-stop", labels: { "postern.io/gateway": "a" } } },
  });
  await sleep(300);
  assert.deepEqual(seen, ["mine"]);
});
