// The Helm chart's whole life on a real node: `helm install` (two operator replicas, one leader), a
// gateway it runs serving mail, `helm test` passing (and failing on a wrong password), `helm upgrade`
// with a change that shows in the cluster, `helm rollback` undoing it, and `helm uninstall` removing
// the operator while the CRDs stay. The run's setup installed the CRDs without helm; this release
// adopts them (helm's ownership label and annotations) and gives them back afterwards.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import {
  addUser,
  assertRelayedOnce,
  GATEWAY,
  gateway,
  IMAGE,
  kc,
  readyPods,
  restrictedNamespace,
  serviceAddress,
  startUpstream,
  swaks,
  tlsSecret,
} from "../e2e/testing/system.ts";
import { testPki } from "../gateway/testing/certificates.ts";
import { kubectl } from "../hack/testing/cluster.ts";
import { apply, eventually, read } from "../operator/testing/cluster-objects.ts";
import { CHART, helm, helmOk, objectsOf } from "./testing/helm.ts";

const RELEASE = "chart-e2e";
/** The chart's name for the release's objects (release names without "postern" get it appended). */
const OPERATOR = `${RELEASE}-postern-operator`;
const CRDS = ["submissiongateways.postern.io", "smtpusers.postern.io"];
const USERNAME = "alice@example.com";
const PASSWORD = "alice-chart-secret";

/** Helm adopts an existing object that carries its ownership label and annotations for the release. */
async function adoptCrds(namespace: string): Promise<void> {
  for (const crd of CRDS) {
    await kc(["label", "crd", crd, "--overwrite", "app.kubernetes.io/managed-by=Helm"]);
    await kc([
      "annotate",
      "crd",
      crd,
      "--overwrite",
      `meta.helm.sh/release-name=${RELEASE}`,
      `meta.helm.sh/release-namespace=${namespace}`,
    ]);
  }
}

/** The CRDs as the run's setup left them: no trace of helm, so other files' tests see what they expect. */
async function releaseCrds(): Promise<void> {
  for (const crd of CRDS) {
    await kubectl(["label", "crd", crd, "app.kubernetes.io/managed-by-"]);
    await kubectl([
      "annotate",
      "crd",
      crd,
      "meta.helm.sh/release-name-",
      "meta.helm.sh/release-namespace-",
      "helm.sh/resource-policy-",
    ]);
  }
}

async function deployment(namespace: string): Promise<V1Deployment | undefined> {
  return read<V1Deployment>("apps/v1", "Deployment", namespace, OPERATOR);
}

/** Waits until the operator's Deployment has rolled out `replicas` ready pods of its current spec. */
function rolledOut(namespace: string, replicas: number): Promise<V1Deployment> {
  return eventually(
    `${replicas} ready operator replicas`,
    async () => {
      const d = await deployment(namespace);
      const s = d?.status;
      const done =
        s?.observedGeneration === d?.metadata?.generation &&
        s?.readyReplicas === replicas &&
        s?.updatedReplicas === replicas &&
        s?.replicas === replicas;
      return done ? d : undefined;
    },
    120_000,
  );
}

const args = (d: V1Deployment | undefined) => d?.spec?.template.spec?.containers[0]?.args ?? [];

test("the chart: install, mail, helm test, upgrade, rollback, uninstall with the CRDs kept", async (t) => {
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  const [repository, tag] = IMAGE.split(/:(?=[^:]+$)/);
  const install = [
    ...["--namespace", ns, "--wait", "--timeout", "3m"],
    ...["--set", `image.repository=${repository},image.tag=${tag},image.pullPolicy=Never`],
    // The default grant: every namespace, through the chart's ClusterRole (the monitoring test runs
    // the watchNamespaces form, a Role in each watched namespace).
  ];
  await adoptCrds(ns);
  t.after(async () => {
    await helm(["uninstall", RELEASE, "--namespace", ns, "--wait"]);
    await releaseCrds();
  });

  await t.test("helm install: two operator replicas ready, one of them the leader", async () => {
    await helmOk(["install", RELEASE, CHART, ...install], 240_000);
    await rolledOut(ns, 2);
    const pods = (
      await kc(["get", "pods", "-l", `app.kubernetes.io/instance=${RELEASE}`, "-o", "name"], {
        namespace: ns,
      })
    )
      .trim()
      .split("\n")
      .map((p) => p.replace("pod/", ""));
    assert.equal(pods.length, 2);
    const holder = await eventually("the operator's Lease has a holder", async () => {
      const lease = await read<{ apiVersion: string; kind: string; spec?: { holderIdentity?: string } }>(
        "coordination.k8s.io/v1",
        "Lease",
        ns,
        OPERATOR,
      );
      return lease?.spec?.holderIdentity?.split("_")[0];
    });
    assert.ok(pods.includes(holder), `leader ${holder} is one of ${pods.join(", ")}`);
  });

  await t.test("a gateway the chart's operator runs relays mail", async () => {
    await tlsSecret(ns);
    await apply(gateway(ns, upstream));
    await addUser(ns, "alice", PASSWORD); // username alice@example.com
    await readyPods(ns, 1);
    const sent = await eventually("swaks through the Service is accepted", async () => {
      const result = await swaks(await serviceAddress(ns), USERNAME, PASSWORD);
      return result.code === 0 ? result : undefined;
    });
    await assertRelayedOnce(upstream, sent.token);
  });

  const probeValues = async () => {
    const pki = await testPki();
    await apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "gateway-ca", namespace: ns },
      data: { "ca.crt": readFileSync(pki.caCert).toString("base64") },
    });
    // No cluster DNS on the test node: the Service's IP, and the name the test certificate carries.
    return [
      `test.enabled=true,test.gateway=${GATEWAY},test.credentialsSecret.name=probe-login`,
      `test.caSecret.name=gateway-ca,test.serverName=localhost,test.host=${await serviceAddress(ns)}`,
    ].join(",");
  };
  const login = (password: string) =>
    apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "probe-login", namespace: ns },
      data: {
        username: Buffer.from(USERNAME).toString("base64"),
        password: Buffer.from(password).toString("base64"),
      },
    });

  await t.test("helm test logs in to the gateway, and fails when the password is wrong", async () => {
    await login(PASSWORD);
    await helmOk(["upgrade", RELEASE, CHART, ...install, "--set", await probeValues()], 240_000);
    const passed = await helm(["test", RELEASE, "--namespace", ns, "--logs", "--timeout", "2m"], 180_000);
    assert.equal(passed.code, 0, passed.stdout + passed.stderr);
    assert.match(passed.stdout, /Phase:\s+Succeeded/);
    assert.match(passed.stdout, new RegExp(`STARTTLS and AUTH as ${USERNAME} accepted`));

    await login("not-the-password");
    const failed = await helm(["test", RELEASE, "--namespace", ns, "--logs", "--timeout", "2m"], 180_000);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout + failed.stderr, /535/);
    await login(PASSWORD);
  });

  await t.test("helm upgrade: a values change shows in the cluster; helm rollback undoes it", async () => {
    const before = await rolledOut(ns, 2);
    assert.ok(args(before).includes("--log-level=info"));
    await helmOk(
      ["upgrade", RELEASE, CHART, ...install, "--reuse-values", "--set", "replicas=1,logLevel=debug"],
      240_000,
    );
    const upgraded = await rolledOut(ns, 1);
    assert.ok(args(upgraded).includes("--log-level=debug"), args(upgraded).join(" "));

    const history = JSON.parse(await helmOk(["history", RELEASE, "--namespace", ns, "-o", "json"])) as {
      revision: number;
    }[];
    const previous = (history.at(-2)?.revision ?? 0).toString();
    await helmOk(["rollback", RELEASE, previous, "--namespace", ns, "--wait", "--timeout", "3m"], 240_000);
    const rolledBack = await rolledOut(ns, 2);
    assert.ok(args(rolledBack).includes("--log-level=info"), args(rolledBack).join(" "));
    // The gateway never depended on the operator's pods: mail still goes through.
    const sent = await swaks(await serviceAddress(ns), USERNAME, PASSWORD);
    assert.equal(sent.code, 0, sent.output);
    await assertRelayedOnce(upstream, sent.token);
  });

  await t.test(
    "helm uninstall removes everything the release made but the CRDs, and keeps the gateway",
    async () => {
      // What the release installed, as helm recorded it: its cluster-wide grant included.
      const installed = objectsOf(await helmOk(["get", "manifest", RELEASE, "--namespace", ns]));
      const kinds = new Set(installed.map((o) => o.kind));
      for (const kind of [
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "Deployment",
        "CustomResourceDefinition",
      ]) {
        assert.ok(kinds.has(kind), `the release has a ${kind}: ${[...kinds].join(", ")}`);
      }
      const uninstall = await helmOk(["uninstall", RELEASE, "--namespace", ns, "--wait"], 180_000);
      assert.match(uninstall, /kept due to the resource policy/);
      for (const o of installed) {
        const name = o.metadata?.name ?? "";
        const left = await read(o.apiVersion ?? "", o.kind ?? "", o.metadata?.namespace ?? ns, name);
        if (o.kind === "CustomResourceDefinition") assert.ok(left, `CRD ${name} kept`);
        else assert.equal(left, undefined, `${o.kind} ${name} removed`);
      }
      for (const crd of CRDS) assert.equal((await kubectl(["get", "crd", crd])).code, 0, `CRD ${crd} kept`);
      assert.ok(await read("postern.io/v1alpha1", "SubmissionGateway", ns, GATEWAY), "the gateway kept");
    },
  );
});
