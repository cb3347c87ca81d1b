// The informer across API server restarts, on a private control plane (the shared one must not be
// restarted under other tests). A TCP relay between informer and API server lets the test hold the
// informer off while it changes the world, so the 410 and the relist are deterministic.
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { freePort } from "../../gateway/testing/ports.ts";
import { type ControlPlane, startControlPlane } from "../../hack/testing/control-plane.ts";
import { eventually, when } from "../../hack/testing/eventually.ts";
import { Informer } from "./informer.ts";

type ConfigMap = k8s.KubernetesObject & { data?: Record<string, string> };

let plane: ControlPlane;
before(async () => {
  plane = await startControlPlane();
});
after(async () => {
  await plane?.stop();
});

function kubeConfigFor(server?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plane.kubeconfig);
  if (server === undefined) return kc;
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("no cluster in kubeconfig");
  kc.clusters = kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server } : c));
  return kc;
}

/** A byte relay to the API server that can drop every connection and refuse new ones for a while. */
async function relay(targetPort: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, "127.0.0.1");
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server.listen(port, "127.0.0.1", resolve);
    });
  await listen();
  return {
    url: `https://127.0.0.1:${port}`,
    async cut() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      for (const s of sockets) s.destroy();
    },
    resume: listen,
    close() {
      server?.close();
      for (const s of sockets) s.destroy();
    },
  };
}

async function namespaceWith(core: k8s.CoreV1Api, name: string, configMaps: string[]): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
  for (const cm of configMaps) {
    await core.createNamespacedConfigMap({
      namespace: name,
      body: { metadata: { name: cm }, data: { v: "1" } },
    });
  }
}

function recordingInformer(kubeConfig: k8s.KubeConfig, namespace: string) {
  const events: string[] = [];
  const informer = new Informer<ConfigMap>({
    kubeConfig,
    resource: { group: "", version: "v1", plural: "configmaps" },
    namespace,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  informer.addHandlers({
    onAdd: (cm) => events.push(`add ${cm.metadata?.name}`),
    onUpdate: (_, cm) => events.push(`update ${cm.metadata?.name} v=${cm.data?.v}`),
    onDelete: (cm) => events.push(`delete ${cm.metadata?.name}`),
  });
  return { informer, events: () => events.filter((e) => !e.includes("kube-root-ca.crt")) };
}

test("after 410 Gone the informer relists and emits exactly the differences", async () => {
  const core = kubeConfigFor().makeApiClient(k8s.CoreV1Api);
  await namespaceWith(core, "gone", ["a", "b", "c"]);
  const proxy = await relay(plane.ports.apiserver);
  const { informer, events } = recordingInformer(kubeConfigFor(proxy.url), "gone");
  informer.start();
  try {
    await informer.waitForSync(AbortSignal.timeout(20_000));
    assert.deepEqual(events().sort(), ["add a", "add b", "add c"]);

    await proxy.cut();
    // A write the informer cannot see moves the cluster's resourceVersion past the informer's; the
    // restarted API server's watch cache starts there, so the informer's version is too old: 410.
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "elsewhere" } } });
    await plane.restartApiServer();
    await core.deleteNamespacedConfigMap({ namespace: "gone", name: "a" });
    await core.replaceNamespacedConfigMap({
      namespace: "gone",
      name: "b",
      body: { metadata: { name: "b" }, data: { v: "2" } },
    });
    await core.createNamespacedConfigMap({
      namespace: "gone",
      body: { metadata: { name: "d" }, data: { v: "1" } },
    });
    const before = events().length;
    await proxy.resume();

    await eventually(
      "the relist's differences",
      when(() => events().length >= before + 3),
      30_000,
      25,
    );
    assert.deepEqual(events().slice(before), ["delete a", "add d", "update b v=2"]);
    assert.ok(informer.stats.gone >= 1, `a 410 was seen (stats ${JSON.stringify(informer.stats)})`);
    assert.equal(informer.stats.lists, 2);
    assert.deepEqual(
      informer
        .keys()
        .filter((k) => !k.endsWith("kube-root-ca.crt"))
        .sort(),
      ["gone/b", "gone/c", "gone/d"],
    );
  } finally {
    await informer.stop();
    proxy.close();
  }
});

test("the informer recovers when the API server restarts mid-watch", async () => {
  const core = kubeConfigFor().makeApiClient(k8s.CoreV1Api);
  await namespaceWith(core, "restart", ["x"]);
  const { informer, events } = recordingInformer(kubeConfigFor(), "restart");
  informer.start();
  try {
    await informer.waitForSync(AbortSignal.timeout(20_000));
    const watchesBefore = informer.stats.watches;
    await plane.restartApiServer(1500);
    await core.createNamespacedConfigMap({
      namespace: "restart",
      body: { metadata: { name: "y" }, data: { v: "1" } },
    });
    await core.replaceNamespacedConfigMap({
      namespace: "restart",
      name: "x",
      body: { metadata: { name: "x" }, data: { v: "2" } },
    });
    await eventually(
      "the changes made after the restart",
      when(() => informer.get("restart/y") !== undefined && informer.get("restart/x")?.data?.v === "2"),
      30_000,
      25,
    );
    assert.ok(events().includes("add y"));
    assert.ok(events().includes("update x v=2"));
    assert.ok(informer.stats.watches > watchesBefore, "the watch was re-established");
  } finally {
    await informer.stop();
  }
});
