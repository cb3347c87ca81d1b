// The local control plane (hack/cluster/up.sh, started for the run by hack/testing/global-setup.ts)
// is the real thing: the pinned kube-apiserver, RBAC enforced, service-account tokens, and a
// kube-controller-manager that garbage-collects owned objects and turns Deployments into
// ReplicaSets and Pods. And the scripts behave as their headers promise: up.sh is idempotent and
// quick once the tools are built, down.sh leaves nothing behind, build.sh does not rebuild.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { freshNamespace, kubeConfig, kubectl, processRuns } from "../testing/cluster.ts";
import { repoRoot, startControlPlane } from "../testing/control-plane.ts";
import { eventually } from "../testing/eventually.ts";

const run = promisify(execFile);
const toolsBin = join(repoRoot, "hack/tools/bin");

/** The version hack/tools/<dir>/go.mod pins for a module. */
function pinnedVersion(dir: "k8s" | "helm", module: string): string {
  const goMod = readFileSync(join(repoRoot, "hack/tools", dir, "go.mod"), "utf8");
  const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped} (v\\S+)`, "m").exec(goMod);
  assert.ok(match?.[1], `${module} is not pinned in hack/tools/${dir}/go.mod`);
  return match[1];
}

function statusCode(error: unknown): number | undefined {
  return error instanceof k8s.ApiException ? error.code : undefined;
}

test("the API server answers with the pinned Kubernetes version", async () => {
  const expected = pinnedVersion("k8s", "k8s.io/kubernetes");
  const info = await kubeConfig().makeApiClient(k8s.VersionApi).getCode();
  assert.equal(info.gitVersion, expected);
  assert.equal(info.gitTreeState, "clean");

  const version = await kubectl(["version", "-o", "json"]);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(JSON.parse(version.stdout).serverVersion.gitVersion, expected);
});

test("the built tools report the pinned versions", async () => {
  const apiserver = await run(join(toolsBin, "kube-apiserver"), ["--version"]);
  assert.equal(apiserver.stdout.trim(), `Kubernetes ${pinnedVersion("k8s", "k8s.io/kubernetes")}`);
  const helm = await run(join(toolsBin, "helm"), ["version", "--short"]);
  // Exactly the pin: the build takes nothing from the module cache's state (no commit suffix).
  assert.equal(helm.stdout.trim(), pinnedVersion("helm", "helm.sh/helm/v3"));
  const etcd = await run(join(toolsBin, "etcd"), ["--version"]);
  assert.match(
    etcd.stdout,
    new RegExp(`^etcd Version: ${pinnedVersion("k8s", "go.etcd.io/etcd/server/v3").slice(1)}$`, "m"),
  );
});

test("RBAC is enforced: a ServiceAccount without a RoleBinding is forbidden", async (t) => {
  const namespace = await freshNamespace(t);
  const serviceAccount = `system:serviceaccount:${namespace}:default`;

  const denied = await kubectl(["auth", "can-i", "create", "deployments", `--as=${serviceAccount}`], {
    namespace,
  });
  assert.equal(denied.stdout.trim(), "no");
  assert.equal(denied.code, 1);
  const admin = await kubectl(["auth", "can-i", "create", "deployments"], { namespace });
  assert.equal(admin.stdout.trim(), "yes");
  assert.equal(admin.code, 0);

  // A real token from the TokenRequest API, signed with the service-account key: it authenticates
  // (no 401) and is then refused by RBAC (403).
  const token = await kubectl(["create", "token", "default", "--duration=10m"], { namespace });
  assert.equal(token.code, 0, token.stderr);
  const cluster = kubeConfig().getCurrentCluster();
  assert.ok(cluster);
  const asServiceAccount = new k8s.KubeConfig();
  asServiceAccount.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "sa", token: token.stdout.trim() }],
    contexts: [{ name: "sa", cluster: cluster.name, user: "sa" }],
    currentContext: "sa",
  });
  const apps = asServiceAccount.makeApiClient(k8s.AppsV1Api);
  await assert.rejects(apps.listNamespacedDeployment({ namespace }), (error) => {
    assert.equal(statusCode(error), 403);
    return true;
  });

  // And RBAC is evaluated, not just "deny everything": a Role and RoleBinding let it through.
  const grant = await kubectl(
    ["create", "role", "deployment-reader", "--verb=list,get", "--resource=deployments.apps"],
    { namespace },
  );
  assert.equal(grant.code, 0, grant.stderr);
  const bind = await kubectl(
    [
      "create",
      "rolebinding",
      "deployment-reader",
      "--role=deployment-reader",
      `--serviceaccount=${namespace}:default`,
    ],
    { namespace },
  );
  assert.equal(bind.code, 0, bind.stderr);
  const list = await eventually("the RoleBinding to take effect", async () => {
    try {
      return await apps.listNamespacedDeployment({ namespace });
    } catch (error) {
      if (statusCode(error) === 403) return undefined;
      throw error;
    }
  });
  assert.deepEqual(list.items, []);
  const stillDenied = await kubectl(["auth", "can-i", "create", "deployments", `--as=${serviceAccount}`], {
    namespace,
  });
  assert.equal(stillDenied.stdout.trim(), "no");
});

test("the garbage collector deletes an object whose owner was deleted", async (t) => {
  const namespace = await freshNamespace(t);
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const parent = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "parent" }, data: { role: "owner" } },
  });
  const uid = parent.metadata?.uid;
  assert.ok(uid);
  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: {
        name: "child",
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "parent", uid }],
      },
    },
  });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "unowned" } } });

  await core.deleteNamespacedConfigMap({ name: "parent", namespace });
  await eventually("the child ConfigMap to be garbage-collected", async () => {
    try {
      await core.readNamespacedConfigMap({ name: "child", namespace });
      return undefined;
    } catch (error) {
      if (statusCode(error) === 404) return true;
      throw error;
    }
  });
  const unowned = await core.readNamespacedConfigMap({ name: "unowned", namespace });
  assert.equal(unowned.metadata?.name, "unowned");
});

test("a Deployment produces a ReplicaSet and Pods (which stay Pending: no scheduler, no kubelet)", async (t) => {
  const namespace = await freshNamespace(t);
  const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: pause
          image: registry.k8s.io/pause:3.10
`;
  const applied = await kubectl(["apply", "-f", "-"], { input: manifest, namespace });
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /deployment\.apps\/web created/);

  const kc = kubeConfig();
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deployment = await apps.readNamespacedDeployment({ name: "web", namespace });

  const replicaSet = await eventually("a ReplicaSet owned by the Deployment", async () => {
    const list = await apps.listNamespacedReplicaSet({ namespace });
    return list.items.find((rs) =>
      rs.metadata?.ownerReferences?.some(
        (o) => o.kind === "Deployment" && o.uid === deployment.metadata?.uid,
      ),
    );
  });
  assert.equal(replicaSet.spec?.replicas, 2);

  const pods = await eventually("two Pods owned by the ReplicaSet", async () => {
    const list = await core.listNamespacedPod({ namespace });
    const owned = list.items.filter((pod) =>
      pod.metadata?.ownerReferences?.some(
        (o) => o.kind === "ReplicaSet" && o.uid === replicaSet.metadata?.uid,
      ),
    );
    return owned.length === 2 ? owned : undefined;
  });
  for (const pod of pods) {
    assert.equal(pod.status?.phase, "Pending");
    assert.equal(pod.spec?.nodeName, undefined);
    // The ServiceAccount admission plugin mounted a service-account token.
    assert.ok(
      pod.spec?.volumes?.some((v) => v.name.startsWith("kube-api-access-")),
      "pod has a projected service-account token volume",
    );
  }
  const status = await eventually("the Deployment status to count 2 replicas", async () => {
    const d = await apps.readNamespacedDeployment({ name: "web", namespace });
    return d.status?.replicas === 2 ? d.status : undefined;
  });
  assert.equal(status.readyReplicas ?? 0, 0);
});

test("up.sh is ready within 15 s and idempotent; down.sh removes its processes and state dir", async (t) => {
  // A second control plane next to the run's, in its own state dir and on its own free ports.
  const started = performance.now();
  const cluster = await startControlPlane();
  t.after(() => cluster.stop());
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 15, `up.sh took ${seconds.toFixed(1)} s`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  assert.equal(
    (await kc.makeApiClient(k8s.VersionApi).getCode()).gitVersion,
    pinnedVersion("k8s", "k8s.io/kubernetes"),
  );

  const components = ["etcd", "kube-apiserver", "kube-controller-manager", "watchdog"];
  const pids = () =>
    Object.fromEntries(
      components.map((name) => [name, Number(readFileSync(join(cluster.dir, `${name}.pid`), "utf8").trim())]),
    );
  const first = pids();
  for (const [name, pid] of Object.entries(first)) assert.ok(processRuns(pid), `${name} (pid ${pid}) runs`);

  const again = await run("bash", [join(repoRoot, "hack/cluster/up.sh")], {
    cwd: repoRoot,
    env: {
      ...process.env,
      POSTERN_CLUSTER_DIR: cluster.dir,
      POSTERN_APISERVER_PORT: String(cluster.ports.apiserver),
      POSTERN_ETCD_PORT: String(cluster.ports.etcd),
      POSTERN_ETCD_PEER_PORT: String(cluster.ports.etcdPeer),
      POSTERN_KCM_PORT: String(cluster.ports.controllerManager),
    },
  });
  assert.match(again.stderr, /^cluster: already up /m);
  assert.deepEqual(pids(), first);

  await cluster.stop();
  for (const [name, pid] of Object.entries(first))
    assert.ok(!processRuns(pid), `${name} (pid ${pid}) still runs`);
  assert.equal(existsSync(cluster.dir), false, `${cluster.dir} is still there`);
});

test("hack/tools/build.sh a second time is a no-op", async () => {
  // `make cluster-tests` runs build.sh before the tests (and the control plane needs its tools), so
  // this is at least its second run.
  const programs = ["kube-apiserver", "kube-controller-manager", "etcd", "helm", "kubectl"];
  const links = () =>
    programs.map((p) => {
      const link = join(toolsBin, p);
      return { p, target: readlinkSync(link), mtime: lstatSync(link).mtimeMs };
    });
  const before = links();
  const started = performance.now();
  const build = await run("bash", [join(repoRoot, "hack/tools/build.sh")], {
    cwd: repoRoot,
    timeout: 60_000,
  });
  const seconds = (performance.now() - started) / 1000;
  assert.match(build.stderr, /^tools: up to date: /m);
  assert.doesNotMatch(build.stderr, /building|linked/);
  assert.ok(seconds < 5, `build.sh took ${seconds.toFixed(1)} s`);
  assert.deepEqual(links(), before, "the links in hack/tools/bin were not remade");
});
