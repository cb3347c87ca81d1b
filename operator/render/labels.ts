// The names, labels and mount paths every rendered object shares: the contract with gateway pods
// in operator/README.md, written down once.
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { RenderError } from "./errors.ts";

/** Verifier shard Secrets per gateway, `<gw>-credentials-00` … `<gw>-credentials-31`. */
export const SHARD_COUNT = 32;

/** The pod selector. A Deployment's selector is immutable: these never change for a gateway. */
export function selectorLabels(gateway: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "postern-gateway",
    "app.kubernetes.io/instance": gateway,
    "postern.io/gateway": gateway,
  };
}

/** Labels on every object the operator makes for a gateway. */
export function labels(gateway: string): Record<string, string> {
  return { ...selectorLabels(gateway), "app.kubernetes.io/managed-by": "postern-operator" };
}

/** The ConfigMap holding gateway.yaml. */
export const policyConfigMapName = (gateway: string) => `${gateway}-policy`;

/** The Secret holding the SCRAM decoy key. */
export const credentialsSecretName = (gateway: string) => `${gateway}-credentials`;

const twoDigits = (index: number) => String(index).padStart(2, "0");

function checkShard(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= SHARD_COUNT) {
    throw new RangeError(`shard index ${index} is not an integer from 0 to ${SHARD_COUNT - 1}`);
  }
}

/** The Secret holding verifier shard `index` (0-based), e.g. `corp-credentials-07`. */
export function shardSecretName(gateway: string, index: number): string {
  checkShard(index);
  return `${credentialsSecretName(gateway)}-${twoDigits(index)}`;
}

/** Where shard `index` appears in the pod's credentials directory, e.g. `users-07.yaml`. */
export function shardFileName(index: number): string {
  checkShard(index);
  return `users-${twoDigits(index)}.yaml`;
}

/** Keys of the operator-written ConfigMap and Secrets. */
export const keys = {
  policy: "gateway.yaml",
  scramDecoyKey: "scram-decoy.key",
  shard: "users.yaml",
} as const;

/** Directories a gateway pod reads, each one volume. */
export const mountPaths = {
  config: "/etc/postern/config",
  credentials: "/etc/postern/credentials",
  tls: "/etc/postern/tls",
  upstreamAuth: "/etc/postern/upstream-auth",
  upstreamCa: "/etc/postern/upstream-ca",
  clientCa: "/etc/postern/client-ca",
  jwks: "/etc/postern/jwks",
  tmp: "/tmp",
} as const;

/** File names inside those directories (the keys of the user's Secrets, as the gateway sees them). */
export const fileNames = {
  tlsCertificate: "tls.crt",
  tlsKey: "tls.key",
  username: "username",
  password: "password",
  ca: "ca.crt",
  jwks: "jwks.json",
} as const;

/** A DNS-1035 label: what a Service name must be. */
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export interface GatewayIdentity {
  name: string;
  namespace: string;
  uid: string;
}

/**
 * The gateway's name, namespace and uid, checked: the name also names the Service and is a label
 * value, so it must be a DNS-1035 label of at most 63 characters, which the API's object names need not be.
 */
export function gatewayIdentity(gateway: SubmissionGateway): GatewayIdentity {
  const { name, namespace, uid } = gateway.metadata;
  if (name.length > 63 || !dns1035Label.test(name)) {
    throw new RenderError(
      "metadata.name",
      "must be at most 63 lower-case letters, digits and '-', starting with a letter (it names the Service)",
    );
  }
  if (namespace === undefined || namespace === "") throw new RenderError("metadata.namespace", "is missing");
  if (typeof uid !== "string" || uid === "") throw new RenderError("metadata.uid", "is missing");
  return { name, namespace, uid };
}

/** The reference that makes a SubmissionGateway the controller of an object, so deleting it collects them. */
export function ownerReference(gateway: SubmissionGateway): V1OwnerReference {
  const { name, uid } = gatewayIdentity(gateway);
  return {
    apiVersion: gateway.apiVersion,
    kind: gateway.kind,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** metadata of an object the operator makes for `gateway`. */
export function objectMeta(gateway: SubmissionGateway, name: string): V1ObjectMeta {
  const identity = gatewayIdentity(gateway);
  return {
    name,
    namespace: identity.namespace,
    labels: labels(identity.name),
    ownerReferences: [ownerReference(gateway)],
  };
}
