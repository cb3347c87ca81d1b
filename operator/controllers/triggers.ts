// Which changes wake which reconciles: every informer event is mapped to the gateway keys whose
// reconciles read the changed object. Status-only updates of SubmissionGateways and SmtpUsers are the
// controllers' own writes and change nothing they decide on, so they wake nothing (controller-runtime's
// generation and label predicates); without that, every user status written would reconcile the
// whole gateway again.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerSet } from "../cli/informers.ts";
import type { EventHandlers } from "../runtime/informer.ts";
import { keyOf, SECRET_INDEX, userGatewayKey } from "./caches.ts";

interface Enqueuer {
  enqueue(key: string): void;
}

type Informers = Record<
  | "gateways"
  | "users"
  | "secrets"
  | "configMaps"
  | "deployments"
  | "services"
  | "podDisruptionBudgets"
  | "serviceAccounts",
  InformerSet<KubernetesObject>
> & { serviceMonitors?: InformerSet<KubernetesObject> };

/** Whether an update can change a reconcile's decisions: spec (generation), labels or deletion. */
export function specOrLabelsChanged(before: KubernetesObject, after: KubernetesObject): boolean {
  const a = before.metadata ?? {};
  const b = after.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {})
  );
}

const objectKey = (o: KubernetesObject) => keyOf(o.metadata?.namespace, o.metadata?.name);
const labelledGateway = (o: KubernetesObject) => {
  const gateway = o.metadata?.labels?.["postern.io/gateway"];
  return gateway === undefined ? undefined : keyOf(o.metadata?.namespace, gateway);
};

/** Handlers calling `fn` for the object before and after each change; `relevant` filters updates. */
function onChange<T extends KubernetesObject>(
  fn: (o: T) => void,
  relevant: (before: T, after: T) => boolean = () => true,
): EventHandlers<T> {
  return {
    onAdd: fn,
    onUpdate: (before, after) => {
      if (!relevant(before, after)) return;
      fn(before);
      fn(after);
    },
    onDelete: fn,
  };
}

export function wireTriggers(informers: Informers, gateways: Enqueuer, credentials: Enqueuer): void {
  informers.gateways.addHandlers(
    onChange((gateway) => {
      gateways.enqueue(objectKey(gateway));
      credentials.enqueue(objectKey(gateway));
    }, specOrLabelsChanged),
  );
  informers.users.addHandlers(
    onChange((user) => {
      const key = userGatewayKey(user);
      if (key !== undefined) credentials.enqueue(key);
    }, specOrLabelsChanged),
  );
  informers.secrets.addHandlers(
    onChange((secret) => {
      const key = objectKey(secret);
      for (const user of informers.users.byIndex(SECRET_INDEX, key)) {
        const gateway = userGatewayKey(user);
        if (gateway !== undefined) credentials.enqueue(gateway);
      }
      for (const gateway of informers.gateways.byIndex(SECRET_INDEX, key))
        gateways.enqueue(objectKey(gateway));
      // Our own credentials Secrets: changed or deleted by someone else, they are put back.
      const owner = labelledGateway(secret);
      if (
        owner !== undefined &&
        secret.metadata?.labels?.["app.kubernetes.io/managed-by"] === "postern-operator"
      ) {
        credentials.enqueue(owner);
      }
    }),
  );
  for (const owned of [
    informers.configMaps,
    informers.deployments,
    informers.services,
    informers.podDisruptionBudgets,
    informers.serviceAccounts,
    informers.serviceMonitors,
  ]) {
    owned?.addHandlers(
      onChange((o) => {
        const gateway = labelledGateway(o);
        if (gateway !== undefined) gateways.enqueue(gateway);
      }),
    );
  }
}
