// Writes by server-side apply with one field manager, and only when something differs: a reconcile
// that finds the world as it wants it sends nothing. Every write is counted in
// postern_operator_api_writes_total{verb,resource}.
import { HttpMethod, type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { backoffDelay, sleep } from "./backoff.ts";
import { isApiError, type KubeClient } from "./client.ts";
import type { OperatorMetrics } from "./metrics.ts";

export const FIELD_MANAGER = "postern-operator";

/**
 * Whether every field set in `desired` has the same value in `actual`: objects recursively (fields
 * only in `actual`, such as defaults and other managers' fields, do not count), lists element by
 * element with equal lengths, scalars by ===. `undefined` in desired means "not managed";
 * `null` means "absent".
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null) return actual === null || actual === undefined;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((item, i) => isSubset(item, actual[i]))
    );
  }
  if (typeof desired === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
    const fields = actual as Record<string, unknown>;
    return Object.entries(desired).every(([name, value]) => isSubset(value, fields[name]));
  }
  return desired === actual;
}

/** True unless `actual` already has every field `desired` sets (see isSubset). */
export function needsApply(desired: unknown, actual: unknown): boolean {
  return actual === undefined || !isSubset(desired, actual);
}

/** Deep equality for whole values (a status replaces the last one; a dropped field is a change). */
export function sameValue(a: unknown, b: unknown): boolean {
  return isSubset(a, b) && isSubset(b, a);
}

export interface ApplierOptions {
  client: KubeClient;
  metrics?: OperatorMetrics;
  logger?: Logger;
  fieldManager?: string;
  /** Attempts for a status write that meets 409 Conflict. Default 5. */
  statusAttempts?: number;
}

export class Applier {
  readonly #client: KubeClient;
  readonly #metrics: OperatorMetrics | undefined;
  readonly #logger: Logger | undefined;
  readonly #fieldManager: string;
  readonly #statusAttempts: number;

  constructor(options: ApplierOptions) {
    this.#client = options.client;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.#statusAttempts = options.statusAttempts ?? 5;
  }

  /**
   * Server-side applies `desired` (force: this operator owns the fields it sets) unless `actual`
   * (the cached object, if any) already matches. Resolves with the server's object after a write,
   * else with `actual`.
   */
  async apply<T extends KubernetesObject>(
    desired: T,
    actual?: KubernetesObject,
  ): Promise<{ written: boolean; object: T }> {
    if (!needsApply(desired, actual)) return { written: false, object: actual as T };
    const { path, plural } = await this.#client.objectPath(desired);
    const object = await this.#patch<T>(path, desired);
    this.#count("apply", plural);
    this.#logger?.debug({ resource: plural, name: desired.metadata?.name }, "applied");
    return { written: true, object };
  }

  /**
   * Server-side applies `status` to the /status subresource of `target` unless it equals
   * `cachedStatus`. Retries 409 Conflict with backoff. Resolves whether it wrote.
   */
  async applyStatus(target: KubernetesObject, status: unknown, cachedStatus: unknown): Promise<boolean> {
    if (sameValue(status, cachedStatus)) return false;
    const { apiVersion, kind, metadata } = target;
    const body = {
      apiVersion,
      kind,
      metadata: { name: metadata?.name, ...(metadata?.namespace && { namespace: metadata.namespace }) },
      status,
    };
    const { path, plural } = await this.#client.objectPath(body, "status");
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#patch(path, body);
        this.#count("apply_status", plural);
        return true;
      } catch (error) {
        if (!isApiError(error, 409) || attempt + 1 >= this.#statusAttempts) throw error;
        await sleep(backoffDelay(attempt, { initialMs: 50, maxMs: 2000 }));
      }
    }
  }

  /** Deletes `object` (background propagation); a 404 counts as done and is not a write. */
  async delete(object: KubernetesObject): Promise<boolean> {
    const { path, plural } = await this.#client.objectPath(object);
    try {
      await this.#client.request(HttpMethod.DELETE, path, { body: { propagationPolicy: "Background" } });
    } catch (error) {
      if (isApiError(error, 404)) return false;
      throw error;
    }
    this.#count("delete", plural);
    return true;
  }

  #patch<T>(path: string, body: unknown): Promise<T> {
    return this.#client.request<T>(HttpMethod.PATCH, path, {
      query: { fieldManager: this.#fieldManager, force: true },
      body,
      contentType: PatchStrategy.ServerSideApply,
    });
  }

  #count(verb: string, resource: string): void {
    this.#metrics?.apiWrites.inc({ verb, resource });
  }
}
