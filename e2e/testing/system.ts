// What the end-to-end tests do to the whole system on the run's node cluster (hack/testing/
// e2e-setup.ts): namespaces under restricted Pod Security, each with its own operator installed from
// the release manifest charts/release/postern.yaml (narrowed to that namespace: its RBAC bound by a
// RoleBinding, its Lease there; the image `make images` built), an upstream smtp-sink on the node's
// address, gateways and users, and real clients (swaks, Python's smtplib) through the gateway's Service.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import type { KubernetesObject, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { RELEASE_MANIFEST } from "../../charts/release/render.ts";
import { objectsOf } from "../../charts/testing/helm.ts";
import { testPki } from "../../gateway/testing/certificates.ts";
import { type RunResult, run, testMessage } from "../../gateway/testing/run.ts";
import { type SmtpSink, startSmtpSink } from "../../gateway/testing/smtp-sink.ts";
import { freshNamespace, kubeconfigPath, kubectl } from "../../hack/testing/cluster.ts";
import { repoRoot } from "../../hack/testing/control-plane.ts";
import {
  apply,
  eventually,
  POSTERN,
  passwordSecret,
  smtpUser,
} from "../../operator/testing/cluster-objects.ts";

/** The image `make images` builds and the run's setup imports into the node. */
export const IMAGE = "localhost/postern/postern:dev";
/** The container port of listener 587 (operator/README.md: +10000 below 1024). */
export const SUBMISSION_TARGET = 10587;
export const METRICS_PORT = 9090;
export const GATEWAY = "corp";

/** kubectl that must succeed; its stdout. */
export async function kc(
  args: string[],
  options: { namespace?: string; input?: string } = {},
): Promise<string> {
  const result = await kubectl(args, options);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** ctr against the node's containerd, in the namespace where the kubelet's images and containers are. */
export async function ctr(args: string[]): Promise<string> {
  const socket = join(dirname(kubeconfigPath()), "containerd/containerd.sock");
  const result = await run("ctr", [`--address=${socket}`, "--namespace=k8s.io", ...args]);
  assert.equal(result.code, 0, `ctr ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A namespace whose pods must pass the restricted Pod Security Standard, deleted after the test. */
export function restrictedNamespace(t: TestContext): Promise<string> {
  return freshNamespace(t, { "pod-security.kubernetes.io/enforce": "restricted" });
}

/** The objects of the release manifest (charts/release/postern.yaml, `make manifests`). */
export function operatorManifests(): KubernetesObject[] {
  return objectsOf(readFileSync(join(repoRoot, RELEASE_MANIFEST), "utf8"));
}

const byKind = (objects: KubernetesObject[], kind: string) => {
  const found = objects.find((o) => o.kind === kind);
  assert.ok(found, `${RELEASE_MANIFEST} has a ${kind}`);
  return structuredClone(found) as KubernetesObject & Record<string, unknown>;
};

export interface OperatorOptions {
  replicas?: number;
  /** --leader-elect-lease-duration; renew deadline and retry period scale with it. */
  leaseSeconds?: number;
}

/** `--name=value` flags replacing any earlier value of the same flag. */
function withFlags(args: string[], flags: Record<string, string>): string[] {
  const kept = args.filter((arg) => !Object.keys(flags).some((name) => arg.startsWith(`--${name}=`)));
  return [...kept, ...Object.entries(flags).map(([name, value]) => `--${name}=${value}`)];
}

/**
 * Installs the operator into `namespace`, watching only it: the manifest's ServiceAccount, its
 * ClusterRole's rules granted there by a RoleBinding (the run's setup applied the ClusterRole), its
 * leader-election Role, and its Deployment, running the local image. Resolves once every replica is
 * ready.
 */
export async function installOperator(namespace: string, options: OperatorOptions = {}): Promise<void> {
  const manifests = operatorManifests();
  const lease = options.leaseSeconds ?? 15;
  const inNamespace = <T extends KubernetesObject>(o: T): T => ({
    ...o,
    metadata: { ...o.metadata, namespace },
  });
  const serviceAccount = inNamespace(byKind(manifests, "ServiceAccount"));
  const subjects = [{ kind: "ServiceAccount", name: serviceAccount.metadata?.name, namespace }];
  const clusterBinding = byKind(manifests, "ClusterRoleBinding");
  const roleBinding = inNamespace(byKind(manifests, "RoleBinding"));
  const deployment = inNamespace(byKind(manifests, "Deployment")) as V1Deployment;
  const spec = deployment.spec;
  const container = spec?.template.spec?.containers[0];
  assert.ok(spec && container);
  spec.replicas = options.replicas ?? 1;
  // Imported into the node by the run's setup; there is no registry to pull from.
  container.image = IMAGE;
  container.imagePullPolicy = "Never";
  container.args = withFlags(container.args ?? [], {
    "gateway-image": IMAGE,
    "gateway-image-pull-policy": "Never",
    namespaces: namespace,
    "leader-elect-lease-duration": `${lease}s`,
    "leader-elect-renew-deadline": `${(lease * 2) / 3}s`,
    "leader-elect-retry-period": `${lease / 7.5}s`,
  });
  for (const object of [
    serviceAccount,
    { ...inNamespace(clusterBinding), kind: "RoleBinding", subjects },
    inNamespace(byKind(manifests, "Role")),
    { ...roleBinding, subjects },
    deployment,
  ]) {
    await apply(object);
  }
  const name = deployment.metadata?.name ?? "";
  await kc(["rollout", "status", `deployment/${name}`, "--timeout=120s"], { namespace });
}

export type Upstream = SmtpSink & { host: string };

/** smtp-sink on the node's own address (the bridge's), where the gateway pods reach it. */
export async function startUpstream(t: TestContext): Promise<Upstream> {
  const host = await kc([
    "get",
    "nodes",
    "-o",
    'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
  ]);
  const sink = await startSmtpSink([], { host });
  t.after(() => sink.stop());
  return Object.assign(sink, { host });
}

export interface GatewayOptions {
  replicas?: number;
  spec?: Record<string, unknown>;
}

/** The TLS Secret a gateway's listeners need (the test PKI's server certificate). */
export async function tlsSecret(namespace: string): Promise<void> {
  const pki = await testPki();
  await apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "gateway-tls", namespace },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": readFileSync(pki.serverCert).toString("base64"),
      "tls.key": readFileSync(pki.serverKey).toString("base64"),
    },
  });
}

export function gateway(namespace: string, upstream: Upstream, options: GatewayOptions = {}) {
  return {
    apiVersion: POSTERN,
    kind: "SubmissionGateway",
    metadata: { name: GATEWAY, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      tls: { secretRef: { name: "gateway-tls" } },
      relay: { host: upstream.host, port: upstream.port, tls: { mode: "none" } },
      ...options.spec,
    },
  };
}

/** An SmtpUser `<name>@example.com` of gateway "corp" (GATEWAY), its password in `<name>-pw`. */
export { smtpUser as user };

/** Applies a user and its password Secret. */
export async function addUser(namespace: string, name: string, password: string): Promise<void> {
  await apply(passwordSecret(namespace, `${name}-pw`, password));
  await apply(smtpUser(namespace, name));
}

export interface GatewayPod {
  name: string;
  uid: string;
  ip: string;
  restarts: number;
  ready: boolean;
  image: string;
  terminating: boolean;
}

export async function gatewayPods(namespace: string): Promise<GatewayPod[]> {
  const list = JSON.parse(
    await kc(["get", "pods", "-l", `postern.io/gateway=${GATEWAY}`, "-o", "json"], { namespace }),
  ) as { items: V1Pod[] };
  return list.items.map((p) => ({
    name: p.metadata?.name ?? "",
    uid: p.metadata?.uid ?? "",
    ip: p.status?.podIP ?? "",
    restarts: p.status?.containerStatuses?.[0]?.restartCount ?? 0,
    ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    image: p.spec?.containers[0]?.image ?? "",
    terminating: p.metadata?.deletionTimestamp !== undefined,
  }));
}

/** Waits until the gateway runs exactly `replicas` ready pods of its current template, and returns them. */
export function readyPods(namespace: string, replicas: number, timeoutMs = 120_000): Promise<GatewayPod[]> {
  return eventually(
    `${replicas} ready gateway pods in ${namespace}`,
    async () => {
      const deployment = JSON.parse(
        await kc(["get", "deployment", GATEWAY, "-o", "json"], { namespace }),
      ) as V1Deployment;
      const status = deployment.status;
      const pods = await gatewayPods(namespace);
      const settled =
        status?.observedGeneration === deployment.metadata?.generation &&
        status?.updatedReplicas === replicas &&
        status?.readyReplicas === replicas &&
        status?.replicas === replicas &&
        pods.length === replicas &&
        pods.every((p) => p.ready && !p.terminating);
      return settled ? pods : undefined;
    },
    timeoutMs,
  );
}

/**
 * The gateway Service's cluster IP, once it routes: pods being ready is not enough, kube-proxy
 * programs the Service's rules from the EndpointSlice a moment later, and until then it refuses
 * connections. So: until 587 greets with 220 and 465 accepts a connection.
 */
export async function serviceAddress(namespace: string): Promise<string> {
  const address = await kc(["get", "service", GATEWAY, "-o", "jsonpath={.spec.clusterIP}"], { namespace });
  await eventually(`service ${namespace}/${GATEWAY} routing to a gateway pod`, async () =>
    (await greets(address, 587)) && (await greets(address, 465, false)) ? true : undefined,
  );
  return address;
}

/** Whether a TCP connection to address:port opens (and, with `smtp`, the first line is a 220). */
function greets(address: string, port: number, smtp = true): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 2000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => (smtp ? undefined : done(true)));
    socket.once("data", (chunk) => done(chunk.toString("latin1").startsWith("220")));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

export interface Submission extends RunResult {
  output: string;
  token: string;
}

/** swaks: STARTTLS, AUTH PLAIN, one message to `server`:`port` (the Service's 587 by default). */
export async function swaks(
  server: string,
  username: string,
  password: string,
  port = 587,
): Promise<Submission> {
  const message = testMessage(username, "dave@example.net");
  const result = await run(
    "swaks",
    [
      ...["--server", `${server}:${port}`, "--helo", "client.test", "--tls"],
      ...["--auth", "PLAIN", "--auth-user", username, "--auth-password", password],
      ...["--from", message.from, "--to", message.to, "--data", "-", "--timeout", "20"],
    ],
    { input: message.text, timeoutMs: 60_000 },
  );
  return { ...result, output: result.stdout + result.stderr, token: message.token };
}

/** swaks(1)'s exit code for "error while authenticating". */
export const SWAKS_AUTH_FAILED = 28;

/** The copies upstream of the message carrying `token`. */
export async function upstreamCopies(sink: SmtpSink, token: string): Promise<string[]> {
  return (await sink.messages()).filter((m) => m.includes(token));
}

/** Asserts the message arrived upstream exactly once, relayed by the gateway as ESMTPSA (RFC 3848). */
export async function assertRelayedOnce(sink: SmtpSink, token: string): Promise<void> {
  const copies = await eventually(`message ${token} upstream`, async () => {
    const found = await upstreamCopies(sink, token);
    return found.length > 0 ? found : undefined;
  });
  assert.equal(copies.length, 1, `copies of ${token} upstream`);
  assert.match(
    copies[0] ?? "",
    /^Received: from \S+ \(\[[\d.]+\]\)\r?\n\tby \S+ \(Postern\) with ESMTPSA id /m,
  );
}

/** The value of one sample of a Prometheus text exposition, or undefined. */
export function sample(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** A gateway pod's /metrics, straight from its IP (the node reaches every pod on the bridge). */
export async function podMetrics(pod: GatewayPod): Promise<string> {
  const response = await fetch(`http://${pod.ip}:${METRICS_PORT}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  return response.text();
}

/**
 * Waits until `pod` has loaded `kind` (credentials, policy or tls) since `sinceMs`, and resolves with
 * when it did (ms since the epoch; the pod's clock is this machine's).
 */
export function reloadedAfter(
  pod: GatewayPod,
  sinceMs: number,
  kind: "credentials" | "policy" | "tls" = "credentials",
  timeoutMs = 30_000,
): Promise<number> {
  return eventually(
    `pod ${pod.name} reloads its ${kind}`,
    async () => {
      const seconds = sample(await podMetrics(pod), "postern_config_last_reload_success_timestamp_seconds", {
        kind,
      });
      return seconds !== undefined && seconds * 1000 > sinceMs ? seconds * 1000 : undefined;
    },
    timeoutMs,
  );
}
