// The gateway controller: SubmissionGateway → ServiceAccount, policy ConfigMap, Deployment, Service,
// PodDisruptionBudget, [ServiceMonitor], and the gateway's status. Reads the caches, renders the desired
// objects (pure), applies only what differs, touches the pods after a policy change, and writes status
// only when it changed. Credentials are the credentials controller's concern.
import type { KubernetesObject, V1Deployment, V1Service } from "@kubernetes/client-node";
import { parseSubmissionGateway, type SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import type { DeploymentOptions } from "../render/deployment.ts";
import { RenderError } from "../render/errors.ts";
import { keys as dataKeys } from "../render/labels.ts";
import { applyOrder, gatewayObjects } from "../render/objects.ts";
import type { Reconcile } from "../runtime/controller.ts";
import { type Condition, mergeConditions, transitions } from "../status/conditions.ts";
import { type DeploymentObservation, gatewayConditions } from "../status/gateway-status.ts";
import {
  type CacheReader,
  GATEWAY_INDEX,
  keyOf,
  type OperatorCaches,
  type ReconcilerContext,
  splitKey,
} from "./caches.ts";
import { POLICY_REVISION, refreshPods, revisionOf } from "./pod-refresh.ts";
import { missingSecrets } from "./referenced-secrets.ts";

export interface CredentialsSummary {
  boundUsers: number;
  problem?: string;
}

export interface GatewayControllerDeps extends ReconcilerContext {
  deployment: DeploymentOptions;
  /** Per gateway key, what the credentials controller last found: users bound, and any problem. */
  credentials: ReadonlyMap<string, CredentialsSummary>;
}

function observeDeployment(deployment: V1Deployment | undefined): DeploymentObservation | undefined {
  if (!deployment) return undefined;
  const status = deployment.status ?? {};
  return {
    observedCurrent: (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1),
    replicas: status.replicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
  };
}

/** Where clients connect: the load balancer's address once it has one, else the Service's DNS name. */
function endpoints(gateway: SubmissionGateway, service: V1Service | undefined) {
  const ingress = service?.status?.loadBalancer?.ingress?.[0];
  const host =
    (gateway.spec.service.type === "LoadBalancer" && (ingress?.hostname ?? ingress?.ip)) ||
    `${gateway.metadata.name}.${gateway.metadata.namespace}.svc`;
  return gateway.spec.listeners.map((l) => ({ listener: l.name, host, port: l.port, mode: l.mode }));
}

function cacheFor(
  caches: OperatorCaches,
  kind: string | undefined,
): CacheReader<KubernetesObject> | undefined {
  switch (kind) {
    case "ServiceAccount":
      return caches.serviceAccounts;
    case "ConfigMap":
      return caches.configMaps;
    case "Deployment":
      return caches.deployments;
    case "Service":
      return caches.services;
    case "PodDisruptionBudget":
      return caches.podDisruptionBudgets;
    case "ServiceMonitor":
      return caches.serviceMonitors;
    default:
      return undefined;
  }
}

export function gatewayReconciler(deps: GatewayControllerDeps): Reconcile {
  const { caches, applier, logger } = deps;
  const now = deps.now ?? (() => new Date());

  return async (key) => {
    const raw = caches.gateways.get(key);
    const { namespace, name } = splitKey(key);
    if (!raw) {
      // Deleted: its objects go with their ownerReferences, its series with it.
      deps.metrics.gatewayReplicas(namespace, name, undefined);
      return;
    }
    const parsed = parseSubmissionGateway(raw);
    let invalidSpec = parsed.ok ? undefined : parsed.error;
    let missing: string[] = [];
    let deployment = caches.deployments.get(key);
    let service = caches.services.get(key);

    if (parsed.ok) {
      const gateway = parsed.value;
      missing = missingSecrets(gateway.spec, (name) => caches.secrets.get(keyOf(namespace, name)));
      try {
        const objects = gatewayObjects(gateway, deps.deployment);
        for (const desired of applyOrder(objects)) {
          const cache = cacheFor(caches, desired.kind);
          if (!cache) continue; // a ServiceMonitor where the monitoring API does not exist
          const actual = cache.get(keyOf(namespace, desired.metadata?.name));
          const { written, object } = await applier.apply(desired, actual);
          if (written && desired.kind === "Deployment") deployment = object as V1Deployment;
          if (written && desired.kind === "Service") service = object as V1Service;
        }
        const staleMonitor = objects.serviceMonitor ? undefined : caches.serviceMonitors?.get(key);
        if (staleMonitor?.metadata?.ownerReferences?.some((o) => o.uid === raw.metadata?.uid)) {
          await applier.delete(staleMonitor);
        }
        const revision = revisionOf(objects.policyConfigMap.data?.[dataKeys.policy]);
        await refreshPods(
          deps.client,
          caches.pods.byIndex(GATEWAY_INDEX, key),
          POLICY_REVISION,
          revision,
          () => deps.metrics.apiWrites.inc({ verb: "patch", resource: "pods" }),
        );
      } catch (error) {
        if (!(error instanceof RenderError)) throw error;
        invalidSpec = `${error.field}: ${error.message}`;
      }
    }

    const generation = raw.metadata?.generation ?? 0;
    const desiredReplicas = parsed.ok ? parsed.value.spec.replicas : 0;
    const observed = observeDeployment(deployment);
    deps.metrics.gatewayReplicas(namespace, name, {
      desired: desiredReplicas,
      ready: observed?.readyReplicas ?? 0,
    });
    const previous = raw.status as { conditions?: Condition[]; boundUsers?: number } | undefined;
    const conditions = mergeConditions(
      previous?.conditions,
      gatewayConditions({
        generation,
        desiredReplicas,
        invalidSpec,
        missingSecrets: missing,
        credentialsProblem: deps.credentials.get(key)?.problem,
        deployment: observed,
      }),
      now()
        .toISOString()
        .replace(/\.\d+Z$/, "Z"),
    );
    const boundUsers = deps.credentials.get(key)?.boundUsers ?? previous?.boundUsers;
    const status = {
      observedGeneration: generation,
      conditions,
      readyReplicas: observed?.readyReplicas ?? 0,
      ...(boundUsers !== undefined && { boundUsers }),
      ...(parsed.ok && { endpoints: endpoints(parsed.value, service) }),
    };
    if (await applier.applyStatus(raw, status, raw.status)) {
      for (const c of transitions(previous?.conditions, conditions)) {
        const good =
          c.type === "Degraded" ? c.status === "False" : c.status === "True" || c.type === "Progressing";
        deps.events.event(
          raw as never,
          good ? "Normal" : "Warning",
          c.reason,
          `${c.type}=${c.status}`,
          c.message,
        );
      }
      logger.debug({ gateway: key, ready: conditions[0]?.status }, "gateway status written");
    }
  };
}
