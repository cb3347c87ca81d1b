// What the gateway container mounts, at the paths of the contract in operator/README.md: the policy
// ConfigMap, one projected volume for every credentials Secret, the user's Secrets the spec names, and
// a writable /tmp (the root filesystem is read-only).
import type { V1KeyToPath, V1Volume, V1VolumeMount, V1VolumeProjection } from "@kubernetes/client-node";
import type { SubmissionGatewaySpec } from "../../crds/schema/submission-gateway.ts";
import {
  credentialsSecretName,
  fileNames,
  keys,
  mountPaths,
  policyConfigMapName,
  SHARD_COUNT,
  shardFileName,
  shardSecretName,
} from "./labels.ts";

/** Owner root, group the pod's fsGroup, read-only: the gateway's non-root user reads through its group. */
export const FILE_MODE = 0o440;

export interface PodVolumes {
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

const item = (key: string, path: string): V1KeyToPath => ({ key, path });

/**
 * The decoy key and all 32 shard slots in one volume, so kubelet swaps them together (one `..data`
 * rename). Shards are optional: only non-empty ones exist, and users coming and going never change
 * the pod template.
 */
function credentialsSources(gateway: string): V1VolumeProjection[] {
  const shards = Array.from({ length: SHARD_COUNT }, (_, index) => ({
    secret: {
      name: shardSecretName(gateway, index),
      optional: true,
      items: [item(keys.shard, shardFileName(index))],
    },
  }));
  return [
    {
      secret: { name: credentialsSecretName(gateway), items: [item(keys.scramDecoyKey, keys.scramDecoyKey)] },
    },
    ...shards,
  ];
}

interface Mounted {
  name: string;
  mountPath: string;
  source: Omit<V1Volume, "name">;
}

const secret = (secretName: string, items: V1KeyToPath[]): Omit<V1Volume, "name"> => ({
  secret: { secretName, items, defaultMode: FILE_MODE },
});

function mounted(gateway: string, { tls, relay, auth }: SubmissionGatewaySpec): Mounted[] {
  const optional = (name: string, mountPath: string, source: Omit<V1Volume, "name"> | false) =>
    source === false ? [] : [{ name, mountPath, source }];
  return [
    {
      name: "config",
      mountPath: mountPaths.config,
      source: {
        configMap: {
          name: policyConfigMapName(gateway),
          items: [item(keys.policy, keys.policy)],
          defaultMode: FILE_MODE,
        },
      },
    },
    {
      name: "credentials",
      mountPath: mountPaths.credentials,
      source: { projected: { sources: credentialsSources(gateway), defaultMode: FILE_MODE } },
    },
    ...optional(
      "tls",
      mountPaths.tls,
      tls !== undefined &&
        secret(tls.secretRef.name, [
          item(fileNames.tlsCertificate, fileNames.tlsCertificate),
          item(fileNames.tlsKey, fileNames.tlsKey),
        ]),
    ),
    ...optional(
      "upstream-auth",
      mountPaths.upstreamAuth,
      relay.auth !== undefined &&
        secret(relay.auth.secretRef.name, [
          item(fileNames.username, fileNames.username),
          item(fileNames.password, fileNames.password),
        ]),
    ),
    ...optional(
      "upstream-ca",
      mountPaths.upstreamCa,
      relay.tls.caSecretRef !== undefined &&
        secret(relay.tls.caSecretRef.name, [item(relay.tls.caSecretRef.key, fileNames.ca)]),
    ),
    ...optional(
      "client-ca",
      mountPaths.clientCa,
      auth.external !== undefined &&
        secret(auth.external.clientCASecretRef.name, [
          item(auth.external.clientCASecretRef.key, fileNames.ca),
        ]),
    ),
    ...optional(
      "jwks",
      mountPaths.jwks,
      auth.oauth?.jwksSecretRef !== undefined &&
        secret(auth.oauth.jwksSecretRef.name, [item(auth.oauth.jwksSecretRef.key, fileNames.jwks)]),
    ),
  ];
}

/** The pod's volumes and the container's mounts of them, all read-only but /tmp. */
export function podVolumes(gateway: string, spec: SubmissionGatewaySpec): PodVolumes {
  const all = mounted(gateway, spec);
  return {
    volumes: [
      ...all.map(({ name, source }) => ({ name, ...source })),
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ],
    volumeMounts: [
      ...all.map(({ name, mountPath }) => ({ name, mountPath, readOnly: true })),
      { name: "tmp", mountPath: mountPaths.tmp },
    ],
  };
}
