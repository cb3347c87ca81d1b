// What the operator's cluster tests do to the real API server: install the CRDs, apply and read
// objects, and wait for the operator to converge.
import { join } from "node:path";
import { HttpMethod, type KubernetesObject, PatchStrategy, type V1Secret } from "@kubernetes/client-node";
import { kubeConfig, kubectl } from "../../hack/testing/cluster.ts";
import { repoRoot } from "../../hack/testing/control-plane.ts";
import { eventually } from "../../hack/testing/eventually.ts";
import { isApiError, KubeClient } from "../runtime/client.ts";

/** Points these helpers (and kubectl) at another control plane than the run's shared one. */
export function useKubeconfig(path: string): void {
  process.env.POSTERN_TEST_KUBECONFIG = path;
}

// Raw JSON, as the operator itself talks: client-node's typed serializer drops fields its models
// spell differently (x-kubernetes-* in a CRD).
const client = (): KubeClient => KubeClient.fromKubeConfig(kubeConfig());

export { eventually };

/** Server-side applies the generated CRDs (as a user would, with kubectl) and waits until Established. */
export async function installCrds(): Promise<void> {
  const applied = await kubectl([
    "apply",
    "--server-side",
    "--force-conflicts",
    "-f",
    join(repoRoot, "crds/generated"),
  ]);
  if (applied.code !== 0) throw new Error(`kubectl apply of the CRDs failed: ${applied.stderr}`);
  // `kubectl wait` fails outright on a CRD whose status the API server has not written yet: retry it.
  await eventually(
    "the CRDs are Established",
    async () => {
      const established = await kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/submissiongateways.postern.io",
        "crd/smtpusers.postern.io",
      ]);
      if (established.code !== 0) throw new Error(established.stderr);
      return true;
    },
    60_000,
  );
}

/** Server-side apply as a user would (`kubectl apply --server-side`). */
export async function apply<T extends KubernetesObject>(object: T): Promise<T> {
  const c = client();
  const { path } = await c.objectPath(object);
  return c.request<T>(HttpMethod.PATCH, path, {
    query: { fieldManager: "postern-tests", force: true },
    body: object,
    contentType: PatchStrategy.ServerSideApply,
  });
}

export async function read<T extends KubernetesObject>(
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  const c = client();
  try {
    const { path } = await c.objectPath({ apiVersion, kind, metadata: { name, namespace } });
    return await c.request<T>(HttpMethod.GET, path);
  } catch (error) {
    if (isApiError(error, 404)) return undefined;
    throw error;
  }
}

export async function remove(
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
): Promise<void> {
  const c = client();
  try {
    const { path } = await c.objectPath({ apiVersion, kind, metadata: { name, namespace } });
    await c.request(HttpMethod.DELETE, path);
  } catch (error) {
    if (!isApiError(error, 404)) throw error;
  }
}

export function passwordSecret(namespace: string, name: string, password: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "kubernetes.io/basic-auth",
    data: { password: Buffer.from(password).toString("base64") },
  };
}

export const decode = (secret: V1Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
};

type Conditioned = KubernetesObject & {
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
};

/** The condition of `type`, or undefined. */
export function conditionOf(object: Conditioned | undefined, type: string) {
  return object?.status?.conditions?.find((c) => c.type === type);
}

export const POSTERN = "postern.io/v1alpha1";

/** An SmtpUser `<name>@example.com` of gateway "corp", its password in Secret `<name>-pw`. */
export function smtpUser(namespace: string, name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: POSTERN,
    kind: "SmtpUser",
    metadata: { name, namespace },
    spec: {
      gatewayRef: { name: "corp" },
      username: `${name}@example.com`,
      passwordSecretRef: { name: `${name}-pw` },
      allowedSenders: [`${name}@example.com`],
      ...spec,
    },
  };
}

/** Waits until the object's condition has `status` (and `reason`, if given), and returns the object. */
export function untilCondition<T extends Conditioned>(
  kind: "SmtpUser" | "SubmissionGateway",
  namespace: string,
  name: string,
  type: string,
  status: "True" | "False",
  reason?: string,
  timeoutMs?: number,
): Promise<T> {
  return eventually(
    `${kind} ${namespace}/${name} has ${type}=${status}${reason ? ` (${reason})` : ""}`,
    async () => {
      const object = await read<T>(POSTERN, kind, namespace, name);
      const c = conditionOf(object, type);
      return c?.status === status && (reason === undefined || c.reason === reason) ? object : undefined;
    },
    timeoutMs,
  );
}
