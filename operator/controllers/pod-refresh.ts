// Kubelet rewrites a pod's Secret and ConfigMap volumes on its periodic pod resync (60–90 s) or when
// the pod object itself changes (../shared/reference/secret-refresh.md). So, after writing what a
// volume shows, the operator sets an annotation on each gateway pod to the revision it wrote: the pod
// changes, kubelet re-syncs its volumes within a fraction of a second, and the gateway hot-reloads.
// Level-triggered: a pod whose annotation differs from the current revision is touched, whenever the
// reconcile runs (an operator that died between the write and the touch makes up for it next time).
// The pod object is annotated, never the Deployment's template, which would roll the pods.
import { createHash } from "node:crypto";
import { type KubernetesObjectApi, PatchStrategy, type V1Pod } from "@kubernetes/client-node";

export const POLICY_REVISION = "postern.io/policy-revision";
export const CREDENTIALS_REVISION = "postern.io/credentials-revision";

/** A short, stable digest of what a volume shows. */
export function revisionOf(...parts: readonly (string | undefined)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part ?? "").update("\0");
  return hash.digest("hex").slice(0, 16);
}

/** The pods that need the touch: live (not terminating, not finished) and not yet at `revision`. */
export function podsBehind(pods: readonly V1Pod[], annotation: string, revision: string): V1Pod[] {
  return pods.filter(
    (pod) =>
      pod.metadata?.deletionTimestamp === undefined &&
      pod.status?.phase !== "Succeeded" &&
      pod.status?.phase !== "Failed" &&
      pod.metadata?.annotations?.[annotation] !== revision,
  );
}

/** Annotates each pod behind with `revision`; a pod gone meanwhile (404) is no error. Returns writes. */
export async function refreshPods(
  client: KubernetesObjectApi,
  pods: readonly V1Pod[],
  annotation: string,
  revision: string,
  onWrite: () => void,
): Promise<number> {
  let writes = 0;
  await Promise.all(
    podsBehind(pods, annotation, revision).map(async (pod) => {
      try {
        await client.patch(
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: {
              name: pod.metadata?.name,
              namespace: pod.metadata?.namespace,
              annotations: { [annotation]: revision },
            },
          },
          undefined,
          undefined,
          "postern-operator",
          undefined,
          PatchStrategy.MergePatch,
        );
        writes++;
        onWrite();
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
      }
    }),
  );
  return writes;
}
