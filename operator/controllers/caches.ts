// What the controllers read instead of the API: the informers' caches, by `namespace/name` key, and
// the indexes the event handlers and reconcilers look things up by.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Pod,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Applier } from "../runtime/apply.ts";
import type { KubeClient } from "../runtime/client.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { OperatorMetrics } from "../runtime/metrics.ts";

/** What every reconciler is given: the caches to read, and the edges to write and report through. */
export interface ReconcilerContext {
  caches: OperatorCaches;
  applier: Applier;
  client: KubeClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  logger: Logger;
  now?: () => Date;
}

export interface CacheReader<T> {
  get(key: string): T | undefined;
  list(): T[];
  byIndex(index: string, value: string): T[];
}

export interface OperatorCaches {
  gateways: CacheReader<KubernetesObject & { spec?: unknown; status?: Record<string, unknown> }>;
  /** Indexed by GATEWAY_INDEX (`namespace/gatewayRef.name`) and SECRET_INDEX (`namespace/secret`). */
  users: CacheReader<KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> }>;
  secrets: CacheReader<V1Secret>;
  configMaps: CacheReader<V1ConfigMap>;
  deployments: CacheReader<V1Deployment>;
  services: CacheReader<V1Service>;
  podDisruptionBudgets: CacheReader<V1PodDisruptionBudget>;
  serviceAccounts: CacheReader<V1ServiceAccount>;
  /** Indexed by GATEWAY_INDEX (`namespace/<postern.io/gateway label>`). */
  pods: CacheReader<V1Pod>;
  /** Present only where the monitoring.coreos.com/v1 API exists. */
  serviceMonitors?: CacheReader<KubernetesObject>;
}

export const GATEWAY_INDEX = "gateway";
export const SECRET_INDEX = "secret";

export const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The gateway an SmtpUser names, as a cache key; undefined when its spec has no usable gatewayRef. */
export function userGatewayKey(
  user: KubernetesObject & { spec?: Record<string, unknown> },
): string | undefined {
  const ref = user.spec?.gatewayRef as { name?: unknown } | undefined;
  return typeof ref?.name === "string" ? keyOf(user.metadata?.namespace, ref.name) : undefined;
}

/** The Secrets an SmtpUser's credential comes from, as cache keys. */
export function userSecretKeys(user: KubernetesObject & { spec?: Record<string, unknown> }): string[] {
  const keys: string[] = [];
  for (const field of ["passwordSecretRef", "passwordHashSecretRef"]) {
    const ref = user.spec?.[field] as { name?: unknown } | undefined;
    if (typeof ref?.name === "string") keys.push(keyOf(user.metadata?.namespace, ref.name));
  }
  return keys;
}
