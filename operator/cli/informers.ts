// The operator's informers, one per resource and watched namespace, read through one cache each.
// Secrets are watched in the watched namespaces only (SmtpUsers name arbitrary Secrets, so no label
// can narrow them); everything the operator itself makes is watched by its managed-by label.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { parseSubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import {
  type CacheReader,
  GATEWAY_INDEX,
  keyOf,
  type OperatorCaches,
  SECRET_INDEX,
  userGatewayKey,
  userSecretKeys,
} from "../controllers/caches.ts";
import { referencedSecrets } from "../controllers/referenced-secrets.ts";
import type { ResourceType } from "../runtime/client.ts";
import { type EventHandlers, type IndexFunction, Informer } from "../runtime/informer.ts";

/** One resource over several namespaces (or all, with one informer). */
export class InformerSet<T extends KubernetesObject> implements CacheReader<T> {
  readonly informers: Informer<T>[];

  constructor(
    kubeConfig: KubeConfig,
    resource: ResourceType,
    namespaces: readonly string[],
    options: { labelSelector?: string; indexes?: Record<string, IndexFunction<T>>; logger: Logger },
  ) {
    const scopes = namespaces.length === 0 ? [undefined] : namespaces;
    this.informers = scopes.map(
      (namespace) =>
        new Informer<T>({
          kubeConfig,
          resource,
          namespace,
          labelSelector: options.labelSelector,
          indexes: options.indexes,
          // managedFields, and kubectl's last-applied copy of the whole object (a Secret's data
          // included), are most of an object's size and no reconcile reads them.
          transform: (object) => {
            if (object.metadata) {
              delete object.metadata.managedFields;
              delete object.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"];
            }
            return object;
          },
          logger: options.logger,
        }),
    );
  }

  get(key: string): T | undefined {
    for (const informer of this.informers) {
      const object = informer.get(key);
      if (object) return object;
    }
    return undefined;
  }

  list(): T[] {
    return this.informers.flatMap((i) => i.list());
  }

  keys(): string[] {
    return this.informers.flatMap((i) => i.keys());
  }

  byIndex(index: string, value: string): T[] {
    return this.informers.flatMap((i) => i.byIndex(index, value));
  }

  addHandlers(handlers: EventHandlers<T>): void {
    for (const informer of this.informers) informer.addHandlers(handlers);
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

const MANAGED = "app.kubernetes.io/managed-by=postern-operator";

const resource = (group: string, version: string, plural: string): ResourceType => ({
  group,
  version,
  plural,
});

/** The Secrets a gateway's spec names, as cache keys: a change to one may change its status. */
function gatewaySecretKeys(gateway: KubernetesObject): string[] {
  const parsed = parseSubmissionGateway(gateway);
  if (!parsed.ok) return [];
  return referencedSecrets(parsed.value.spec).map((need) => keyOf(gateway.metadata?.namespace, need.name));
}

/** The gateway an owned object or pod belongs to, from its label. */
function labelledGateway(object: KubernetesObject): string[] {
  const gateway = object.metadata?.labels?.["postern.io/gateway"];
  return gateway === undefined ? [] : [keyOf(object.metadata?.namespace, gateway)];
}

export type OperatorInformers = { [K in keyof OperatorCaches]-?: InformerSet<KubernetesObject> };

export function createInformers(
  kubeConfig: KubeConfig,
  namespaces: readonly string[],
  withServiceMonitors: boolean,
  logger: Logger,
): Partial<OperatorInformers> & Omit<OperatorInformers, "serviceMonitors"> {
  const make = (
    type: ResourceType,
    options: { labelSelector?: string; indexes?: Record<string, IndexFunction<KubernetesObject>> } = {},
  ) => new InformerSet<KubernetesObject>(kubeConfig, type, namespaces, { ...options, logger });
  const owned = { labelSelector: MANAGED, indexes: { [GATEWAY_INDEX]: labelledGateway } };
  return {
    gateways: make(resource("postern.io", "v1alpha1", "submissiongateways"), {
      indexes: { [SECRET_INDEX]: gatewaySecretKeys },
    }),
    users: make(resource("postern.io", "v1alpha1", "smtpusers"), {
      indexes: {
        [GATEWAY_INDEX]: (user) => {
          const key = userGatewayKey(user);
          return key === undefined ? [] : [key];
        },
        [SECRET_INDEX]: userSecretKeys,
      },
    }),
    secrets: make(resource("", "v1", "secrets")),
    configMaps: make(resource("", "v1", "configmaps"), owned),
    deployments: make(resource("apps", "v1", "deployments"), owned),
    services: make(resource("", "v1", "services"), owned),
    podDisruptionBudgets: make(resource("policy", "v1", "poddisruptionbudgets"), owned),
    serviceAccounts: make(resource("", "v1", "serviceaccounts"), owned),
    pods: make(resource("", "v1", "pods"), {
      labelSelector: "app.kubernetes.io/name=postern-gateway",
      indexes: { [GATEWAY_INDEX]: labelledGateway },
    }),
    ...(withServiceMonitors && {
      serviceMonitors: make(resource("monitoring.coreos.com", "v1", "servicemonitors"), owned),
    }),
  };
}
