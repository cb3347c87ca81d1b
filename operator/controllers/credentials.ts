// The credentials controller, keyed by gateway: the SmtpUsers that name a gateway, and their Secrets,
// become the verifier shards its pods mount, and every such user gets its status. Binding and the
// verifier decisions are pure (operator/credentials/); here they meet the caches and the API:
// apply the shards that changed, delete the ones emptied, touch the pods, then write the statuses
// that changed. A gateway that does not exist, or is invalid, still gets its users a status.
import type { KubernetesObject, V1Secret } from "@kubernetes/client-node";
import { parseSubmissionGateway, type SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { type Binding, type BoundUser, bindUsers, type Verdict } from "../credentials/binding.ts";
import {
  buildCredentialShards,
  type CredentialResult,
  type Deriver,
  parseShardSecret,
} from "../credentials/shards.ts";
import {
  credentialsSecret,
  existingDecoyKey,
  newScramDecoyKey,
  shardSecret,
} from "../render/credentials-secrets.ts";
import { credentialsSecretName, SHARD_COUNT, shardSecretName } from "../render/labels.ts";
import type { Reconcile } from "../runtime/controller.ts";
import { mapLimited } from "../runtime/limit.ts";
import { type Condition, condition, mergeConditions, transitions } from "../status/conditions.ts";
import { GATEWAY_INDEX, keyOf, type ReconcilerContext, splitKey } from "./caches.ts";
import type { CredentialsSummary } from "./gateway.ts";
import { CREDENTIALS_REVISION, refreshPods, revisionOf } from "./pod-refresh.ts";

export interface CredentialsControllerDeps extends ReconcilerContext {
  deriver: Deriver;
  /** Written here, read by the gateway controller for the gateway's status. */
  summaries: Map<string, CredentialsSummary>;
  /** Asks the gateway controller to write a gateway's status again (its summary changed). */
  gatewayChanged(key: string): void;
}

/** Writes in flight at once: enough to keep the API server busy, few enough not to flood it. */
const STATUS_WRITES = 32;
const SHARD_WRITES = 8;

interface UserStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  gateway?: string;
  credentialLastChangedTime?: string;
}

function readyCondition(verdict: Verdict, result: CredentialResult | undefined, generation: number) {
  if (result && !result.ok) return condition("Ready", false, result.reason, result.message, generation);
  if (verdict.reason === "Bound") {
    return condition("Ready", true, "Bound", `${verdict.message}; verifiers are on the gateway`, generation);
  }
  return condition("Ready", false, verdict.reason, verdict.message, generation);
}

export function credentialsReconciler(deps: CredentialsControllerDeps): Reconcile {
  const { caches, applier, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const secretIn = (namespace: string) => (name: string) => caches.secrets.get(keyOf(namespace, name));

  // Parsing 32 shards of a large gateway on every reconcile is most of its cost: keep each parse
  // until its Secret's resourceVersion moves.
  const parsedShards = new Map<
    string,
    { resourceVersion?: string; parsed: ReturnType<typeof parseShardSecret> }
  >();
  const parsedShard = (key: string, secret: V1Secret | undefined) => {
    if (!secret) {
      parsedShards.delete(key);
      return parseShardSecret(undefined);
    }
    const resourceVersion = secret.metadata?.resourceVersion;
    const cached = parsedShards.get(key);
    if (cached && cached.resourceVersion === resourceVersion) return cached.parsed;
    const parsed = parseShardSecret(secret);
    parsedShards.set(key, { resourceVersion, parsed });
    return parsed;
  };

  /** Writes the shards for `gateway`; returns each bound user's result, or a problem for the gateway. */
  async function writeShards(
    gateway: SubmissionGateway,
    bound: BoundUser[],
  ): Promise<{ results: Map<string, CredentialResult>; problem?: string }> {
    const { name, namespace } = gateway.metadata as { name: string; namespace: string };
    const lookup = secretIn(namespace);

    // The decoy key is made once and then only ever read back, so every replica and every restart
    // give an unknown user the same SCRAM salt.
    const decoyKey = existingDecoyKey(lookup(credentialsSecretName(name))) ?? newScramDecoyKey();
    await applier.apply(credentialsSecret(gateway, decoyKey), lookup(credentialsSecretName(name)));

    const previous = Array.from({ length: SHARD_COUNT }, (_, i) =>
      parsedShard(keyOf(namespace, shardSecretName(name, i)), lookup(shardSecretName(name, i))),
    );
    const built = await buildCredentialShards(
      { mechanisms: gateway.spec.auth.mechanisms, scramIterations: gateway.spec.auth.scramIterations },
      bound,
      previous,
      deps.deriver,
    );
    if (built.derived > 0)
      logger.info(
        { gateway: `${namespace}/${name}`, derived: built.derived, reused: built.reused },
        "verifiers derived",
      );
    if (built.problem) return { results: built.results, problem: built.problem };

    const indexes = Array.from({ length: SHARD_COUNT }, (_, index) => index);
    await mapLimited(indexes, SHARD_WRITES, async (index) => {
      const cached = lookup(shardSecretName(name, index));
      const content = built.shards.get(index);
      if (content) {
        await applier.apply(shardSecret(gateway, index, content), cached);
      } else if (cached?.metadata?.ownerReferences?.some((o) => o.uid === gateway.metadata.uid)) {
        await applier.delete(cached);
      }
    });
    const revisionParts = [decoyKey, ...indexes.map((index) => built.shards.get(index)?.usersYaml ?? "")];
    // Only after every Secret is written: a pod touched first would re-sync the old content.
    await refreshPods(
      deps.client,
      caches.pods.byIndex(GATEWAY_INDEX, keyOf(namespace, name)),
      CREDENTIALS_REVISION,
      revisionOf(...revisionParts),
      () => deps.metrics.apiWrites.inc({ verb: "patch", resource: "pods" }),
    );
    return { results: built.results };
  }

  async function writeUserStatuses(
    users: KubernetesObject[],
    binding: Binding,
    results: Map<string, CredentialResult>,
    gatewayName: string,
  ): Promise<number> {
    const stamp = now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
    let written = 0;
    const boundByKey = new Map(binding.bound.map((b) => [b.objectKey, b]));
    await mapLimited(users, STATUS_WRITES, async (user) => {
      const objectKey = keyOf(user.metadata?.namespace, user.metadata?.name);
      const verdict = binding.verdicts.get(objectKey);
      if (!verdict) return;
      const bound = boundByKey.get(objectKey);
      const result = bound ? results.get(bound.key) : undefined;
      const generation = user.metadata?.generation ?? 0;
      const previous = (user as { status?: UserStatus }).status;
      const conditions = mergeConditions(
        previous?.conditions,
        [readyCondition(verdict, result, generation)],
        stamp,
      );
      const changedAt = result?.ok && result.changed ? stamp : previous?.credentialLastChangedTime;
      const status: UserStatus = {
        observedGeneration: generation,
        conditions,
        ...(bound && { gateway: gatewayName }),
        ...(changedAt !== undefined && { credentialLastChangedTime: changedAt }),
      };
      if (await applier.applyStatus(user, status, previous)) {
        written++;
        for (const c of transitions(previous?.conditions, conditions)) {
          deps.events.event(
            user as never,
            c.status === "True" ? "Normal" : "Warning",
            c.reason,
            `Ready=${c.status}`,
            c.message,
          );
        }
      }
    });
    return written;
  }

  return async (key) => {
    const { namespace, name } = splitKey(key);
    const raw = caches.gateways.get(key);
    const parsed = raw ? parseSubmissionGateway(raw) : undefined;
    const gateway = parsed === undefined ? undefined : parsed.ok ? parsed.value : parsed.error;
    const started = performance.now();
    const users = caches.users.byIndex(GATEWAY_INDEX, key);
    const binding = bindUsers(gateway, users, secretIn(namespace));

    let results = new Map<string, CredentialResult>();
    if (typeof gateway === "object") {
      const written = await writeShards(gateway, binding.bound);
      results = written.results;
      const boundUsers = binding.bound.filter((b) => {
        const result = results.get(b.key);
        return binding.verdicts.get(b.objectKey)?.reason === "Bound" && (result === undefined || result.ok);
      }).length;
      const summary: CredentialsSummary = {
        boundUsers,
        ...(written.problem && { problem: written.problem }),
      };
      const before = deps.summaries.get(key);
      if (before?.boundUsers !== summary.boundUsers || before?.problem !== summary.problem) {
        deps.summaries.set(key, summary);
        deps.gatewayChanged(key);
      }
    } else {
      deps.summaries.delete(key);
    }
    const shardsDone = performance.now();
    const statusWrites = await writeUserStatuses(users, binding, results, name);
    // One line per reconcile, so a slow one says where its time went.
    logger.debug(
      {
        gateway: key,
        users: users.length,
        bound: binding.bound.length,
        statusWrites,
        shardsMs: Math.round(shardsDone - started),
        statusMs: Math.round(performance.now() - shardsDone),
      },
      "credentials reconciled",
    );
  };
}
