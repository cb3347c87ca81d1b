// The rendered objects against a real kube-apiserver: in a namespace that enforces the restricted Pod
// Security Standard, the gateway's pod is admitted and every object is accepted (server-side dry-run,
// so admission runs and nothing is stored), keeping every field as rendered so the controller's
// comparison never sees a difference that is not there. A pod without runAsNonRoot is refused, so the
// admission this relies on is really on. The ServiceMonitor goes to the real prometheus-operator CRD.
import assert from "node:assert/strict";
import { before, type TestContext, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { freshNamespace, kubeConfig } from "../../hack/testing/cluster.ts";
import { installMonitoringCrds } from "../../hack/testing/monitoring-crds.ts";
import { applyOrder, gatewayObjects } from "./objects.ts";
import { everything, exampleGateways, gatewayOf } from "./test-fixtures.ts";

before(installMonitoringCrds);

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const options = { gatewayImage: "postern-gateway:test", imagePullPolicy: "Never" } as const;

const gateways: { name: string; gateway: SubmissionGateway }[] = [
  { name: "a minimal gateway", gateway: gatewayOf() },
  {
    // Without the PriorityClass, which would have to exist for a pod to be admitted.
    name: "a gateway setting every field",
    gateway: gatewayOf({ ...everything, pod: { ...everything.pod, priorityClassName: undefined } }),
  },
  ...exampleGateways(),
];

/** A fresh namespace that refuses pods breaking the restricted Pod Security Standard. */
async function restrictedNamespace(t: TestContext): Promise<string> {
  const name = await freshNamespace(t);
  const namespace = await core.readNamespace({ name });
  namespace.metadata = {
    ...namespace.metadata,
    labels: { ...namespace.metadata?.labels, "pod-security.kubernetes.io/enforce": "restricted" },
  };
  await core.replaceNamespace({ name, body: namespace });
  return name;
}

const inNamespace = (gateway: SubmissionGateway, namespace: string): SubmissionGateway => ({
  ...gateway,
  metadata: { ...gateway.metadata, namespace },
});

/** The Deployment's pod template as a Pod, which is what Pod Security admission judges. */
function templatePod(deployment: k8s.V1Deployment, namespace: string): k8s.V1Pod {
  const template = deployment.spec?.template;
  assert.ok(template?.spec);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "gateway-pod", namespace, labels: template.metadata?.labels },
    spec: template.spec,
  };
}

/** Asserts every field of `rendered` is in `stored` with the same value (the server may add more). */
function assertKept(rendered: unknown, stored: unknown, path: string): void {
  if (Array.isArray(rendered)) {
    assert.ok(Array.isArray(stored), `${path}: not a list on the server`);
    assert.equal(stored.length, rendered.length, `${path}: length`);
    rendered.forEach((item, i) => {
      assertKept(item, stored[i], `${path}[${i}]`);
    });
  } else if (typeof rendered === "object" && rendered !== null) {
    assert.ok(typeof stored === "object" && stored !== null, `${path}: not an object on the server`);
    for (const [key, value] of Object.entries(rendered)) {
      assertKept(value, (stored as Record<string, unknown>)[key], `${path}.${key}`);
    }
  } else {
    assert.equal(stored, rendered, path);
  }
}

/**
 * Without its ownerReference: its owner, the fixture's gateway, does not exist in this cluster, and the
 * garbage collector deletes such a dependent at once (by the time of the pod's admission, once warm).
 */
const ownerless = <T extends k8s.KubernetesObject>(object: T): T => ({
  ...object,
  metadata: { ...object.metadata, ownerReferences: undefined },
});

const refusal = (error: unknown) =>
  error instanceof k8s.ApiException ? `${error.code} ${String(error.body)}` : String(error);

test("the gateway's pods are admitted under restricted Pod Security, and every object is accepted as rendered", async (t) => {
  for (const { name, gateway: original } of gateways) {
    await t.test(name, async (t) => {
      const namespace = await restrictedNamespace(t);
      const gateway = inNamespace(original, namespace);
      const rendered = gatewayObjects(gateway, options);
      for (const object of applyOrder(rendered)) {
        const what = `${object.kind}/${object.metadata?.name}`;
        const stored = await objects.create(object, undefined, "All").catch((error) => {
          assert.fail(`${what} refused: ${refusal(error)}`);
        });
        // Typed client objects: compare as JSON, as the API server sees both.
        assertKept(object, JSON.parse(JSON.stringify(stored)), what);
      }
      // The ServiceAccount admission plugin refuses a pod whose ServiceAccount does not exist.
      await objects.create(ownerless(rendered.serviceAccount));
      await core
        .createNamespacedPod({ namespace, body: templatePod(rendered.deployment, namespace), dryRun: "All" })
        .catch((error) => {
          assert.fail(`the gateway pod was refused: ${refusal(error)}`);
        });
    });
  }
});

test("a pod without runAsNonRoot is refused there, so the check above can fail", async (t) => {
  const namespace = await restrictedNamespace(t);
  const rendered = gatewayObjects(inNamespace(gatewayOf(), namespace), options);
  await objects.create(ownerless(rendered.serviceAccount));
  const pod = templatePod(rendered.deployment, namespace);
  delete pod.spec?.securityContext?.runAsNonRoot;
  await assert.rejects(core.createNamespacedPod({ namespace, body: pod, dryRun: "All" }), (error) => {
    assert.ok(error instanceof k8s.ApiException, String(error));
    assert.equal(error.code, 403, refusal(error));
    assert.match(
      JSON.parse(String(error.body)).message,
      /violates PodSecurity "restricted:latest": runAsNonRoot/,
    );
    return true;
  });
});
