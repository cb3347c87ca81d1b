// An informer for one resource, with client-go's reflector semantics:
// - list (paginated with limit/continue, a consistent read), then watch from the list's
//   resourceVersion with bookmarks, so nothing between the two is missed;
// - a watch that ends is resumed from the last resourceVersion seen (event or bookmark);
// - 410 Gone (HTTP 410, or an ERROR event with code 410: the server no longer has history back to
//   that version) means relist, and the handlers get the differences against the cache;
// - errors reconnect with jittered exponential backoff.
// The cache (namespace/name -> object, plus registered indexes) is what reconcilers read instead of
// asking the API server.
import { type KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { type BackoffOptions, backoffDelay, sleep } from "./backoff.ts";
import { apiVersionOf, collectionPath, isApiError, KubeClient, type ResourceType } from "./client.ts";

export interface EventHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(oldObject: T, newObject: T): void;
  /** Gets the last state the cache held. */
  onDelete?(object: T): void;
}

export type IndexFunction<T> = (object: T) => string[];

export interface InformerOptions<T> {
  kubeConfig: KubeConfig;
  resource: ResourceType;
  /** Only this namespace; all namespaces when undefined. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** Applied to every object before it is cached (e.g. drop managedFields). */
  transform?: (object: T) => T;
  indexes?: Record<string, IndexFunction<T>>;
  /** Reconnect backoff. Default 100 ms doubling to 30 s. */
  backoff?: BackoffOptions;
  /**
   * Seconds after which the server ends a watch (and sends a bookmark just before). Default: a
   * random 20..28, below client-node's fixed 30 s inactivity timeout, so quiet watches end cleanly
   * with a fresh resourceVersion instead of being cut.
   */
  watchTimeoutSeconds?: number;
  logger?: Logger;
}

export interface InformerStats {
  /** Complete lists done (the first one and every relist). */
  lists: number;
  /** Relists forced by 410 Gone. */
  gone: number;
  /** Watch requests started. */
  watches: number;
  /** List or watch failures followed by a backoff. */
  errors: number;
}

/** The cache key client-go uses: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

export interface CacheDelta<T> {
  added: T[];
  updated: [T, T][];
  deleted: T[];
}

/** What changed between the cache and a fresh list, judged by resourceVersion; pure. */
export function diffCache<T extends KubernetesObject>(
  cache: ReadonlyMap<string, T>,
  listed: T[],
): CacheDelta<T> {
  const delta: CacheDelta<T> = { added: [], updated: [], deleted: [] };
  const seen = new Set<string>();
  for (const object of listed) {
    const key = objectKey(object);
    seen.add(key);
    const old = cache.get(key);
    if (old === undefined) delta.added.push(object);
    else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
      delta.updated.push([old, object]);
  }
  for (const [key, old] of cache) if (!seen.has(key)) delta.deleted.push(old);
  return delta;
}

interface ListPage<T> {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

interface Status {
  code?: number;
  reason?: string;
  message?: string;
}

type WatchEnd =
  | { kind: "closed"; events: number; ms: number }
  | { kind: "gone" }
  | { kind: "error"; error: unknown };

class GoneError extends Error {}

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly stats: InformerStats = { lists: 0, gone: 0, watches: 0, errors: 0 };
  readonly #options: InformerOptions<T>;
  readonly #client: KubeClient;
  readonly #watch: Watch;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #cache = new Map<string, T>();
  readonly #indexes = new Map<string, { fn: IndexFunction<T>; values: Map<string, Set<string>> }>();
  readonly #handlers: EventHandlers<T>[] = [];
  readonly #stop = new AbortController();
  #abortWatch: (() => void) | undefined;
  #resourceVersion = "";
  #synced = false;
  readonly #syncWaiters: (() => void)[] = [];
  #running: Promise<void> | undefined;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.#client = KubeClient.fromKubeConfig(options.kubeConfig);
    this.#watch = new Watch(options.kubeConfig);
    this.#path = collectionPath(options.resource, options.namespace);
    this.#logger = (options.logger ?? pino({ level: "silent" })).child({ informer: this.#path });
    for (const [name, fn] of Object.entries(options.indexes ?? {})) {
      this.#indexes.set(name, { fn, values: new Map() });
    }
  }

  /** Adds handlers; after the first sync they get an add for every cached object first. */
  addHandlers(handlers: EventHandlers<T>): void {
    this.#handlers.push(handlers);
    if (this.#synced) for (const object of this.#cache.values()) this.#call(handlers, "onAdd", object);
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops listing and watching; the cache keeps its last state. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#abortWatch?.();
    await this.#running;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason ?? new Error("aborted"));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Cached objects whose index function `name` returned `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`no index named ${name}`);
    const keys = index.values.get(value) ?? new Set();
    return [...keys].map((key) => this.#cache.get(key)).filter((object) => object !== undefined);
  }

  async #run(): Promise<void> {
    const backoff = this.#options.backoff ?? { initialMs: 100, maxMs: 30_000 };
    let failures = 0;
    let needList = true;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (needList) {
        try {
          await this.#relist(signal);
          needList = false;
          failures = 0;
        } catch (error) {
          if (signal.aborted) break;
          this.stats.errors++;
          const delay = backoffDelay(failures++, backoff);
          this.#logger.warn({ err: error, retryInMs: Math.round(delay) }, "list failed");
          await sleep(delay, signal);
          continue;
        }
      }
      const end = await this.#watchOnce();
      if (signal.aborted) break;
      if (end.kind === "gone") {
        this.stats.gone++;
        this.#logger.info({ resourceVersion: this.#resourceVersion }, "watch history gone (410); relisting");
        needList = true;
      } else if (end.kind === "closed" && (end.events > 0 || end.ms >= 1000)) {
        failures = 0; // a watch that served a while ended normally: resume at once
      } else {
        // an error, or a watch that ended as soon as it began (the server is unwell): back off
        this.stats.errors++;
        const delay = backoffDelay(failures++, backoff);
        const err = end.kind === "error" ? end.error : undefined;
        this.#logger.warn({ err, retryInMs: Math.round(delay) }, "watch failed; reconnecting");
        await sleep(delay, signal);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const listed: T[] = [];
    let resourceVersion = "";
    let continueToken: string | undefined;
    do {
      const page = await this.#client.get<ListPage<T>>(this.#path, {
        query: {
          limit: this.#options.pageSize ?? 500,
          continue: continueToken,
          labelSelector: this.#options.labelSelector,
          fieldSelector: this.#options.fieldSelector,
        },
        signal,
      });
      // List items carry no apiVersion/kind; watch events do. Cache one form.
      const apiVersion = apiVersionOf(this.#options.resource);
      const kind = page.kind?.replace(/List$/, "");
      for (const item of page.items ?? []) listed.push(this.#prepare({ apiVersion, kind, ...item }));
      resourceVersion = page.metadata?.resourceVersion ?? "";
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);

    this.stats.lists++;
    const delta = diffCache(this.#cache, listed);
    for (const object of delta.deleted) this.#remove(object);
    for (const object of delta.added) this.#store(object);
    for (const [, object] of delta.updated) this.#store(object);
    this.#resourceVersion = resourceVersion;
    const firstSync = !this.#synced;
    this.#synced = true;
    for (const object of delta.deleted) this.#emit("onDelete", object);
    for (const object of delta.added) this.#emit("onAdd", object);
    for (const [old, object] of delta.updated) this.#emit("onUpdate", old, object);
    if (firstSync) for (const wake of this.#syncWaiters.splice(0)) wake();
  }

  #watchOnce(): Promise<WatchEnd> {
    const started = performance.now();
    let events = 0;
    let gone = false;
    let failure: unknown;
    this.stats.watches++;
    return new Promise<WatchEnd>((resolve) => {
      let controller: AbortController | undefined;
      let abortRequested = false;
      this.#abortWatch = () => {
        abortRequested = true;
        controller?.abort();
      };
      const abort = (error: unknown): void => {
        if (error instanceof GoneError) gone = true;
        else failure ??= error;
        this.#abortWatch?.();
      };
      const onEvent = (type: string, object: unknown): void => {
        if (abortRequested) return;
        try {
          events++;
          this.#handleEvent(type, object);
        } catch (error) {
          abort(error);
        }
      };
      const done = (error: unknown): void => {
        this.#abortWatch = undefined;
        if (gone || isApiError410(error)) resolve({ kind: "gone" });
        else if (failure !== undefined) resolve({ kind: "error", error: failure });
        else if (error && !abortRequested && !isInactivityTimeout(error)) resolve({ kind: "error", error });
        else resolve({ kind: "closed", events, ms: performance.now() - started });
      };
      const timeoutSeconds = this.#options.watchTimeoutSeconds ?? 20 + Math.floor(Math.random() * 9);
      this.#watch
        .watch(
          this.#path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.#options.labelSelector,
            fieldSelector: this.#options.fieldSelector,
          },
          onEvent,
          done,
        )
        .then(
          (c) => {
            controller = c;
            if (abortRequested) c.abort();
          },
          (error: unknown) => done(error),
        );
    });
  }

  #handleEvent(type: string, raw: unknown): void {
    if (type === "ERROR") {
      const status = raw as Status;
      if (status?.code === 410) throw new GoneError(status.message);
      throw new Error(`watch error ${status?.code}: ${status?.reason} ${status?.message ?? ""}`.trim());
    }
    const object = raw as T;
    const resourceVersion = object?.metadata?.resourceVersion;
    if (type === "BOOKMARK") {
      if (resourceVersion) this.#resourceVersion = resourceVersion;
      return;
    }
    const prepared = this.#prepare(object);
    const key = objectKey(prepared);
    const old = this.#cache.get(key);
    if (type === "ADDED" || type === "MODIFIED") {
      this.#store(prepared);
      if (resourceVersion) this.#resourceVersion = resourceVersion;
      if (old === undefined) this.#emit("onAdd", prepared);
      else this.#emit("onUpdate", old, prepared);
    } else if (type === "DELETED") {
      if (old !== undefined) this.#remove(old);
      if (resourceVersion) this.#resourceVersion = resourceVersion;
      this.#emit("onDelete", old ?? prepared);
    }
  }

  #prepare(object: T): T {
    return this.#options.transform ? this.#options.transform(object) : object;
  }

  #store(object: T): void {
    const key = objectKey(object);
    const old = this.#cache.get(key);
    if (old !== undefined) this.#unindex(key, old);
    this.#cache.set(key, object);
    for (const index of this.#indexes.values()) {
      for (const value of index.fn(object)) {
        const keys = index.values.get(value);
        if (keys === undefined) index.values.set(value, new Set([key]));
        else keys.add(key);
      }
    }
  }

  #remove(object: T): void {
    const key = objectKey(object);
    const old = this.#cache.get(key);
    if (old !== undefined) this.#unindex(key, old);
    this.#cache.delete(key);
  }

  #unindex(key: string, object: T): void {
    for (const index of this.#indexes.values()) {
      for (const value of index.fn(object)) {
        const keys = index.values.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.values.delete(value);
      }
    }
  }

  #emit(event: "onAdd" | "onDelete", object: T): void;
  #emit(event: "onUpdate", old: T, object: T): void;
  #emit(event: keyof EventHandlers<T>, a: T, b?: T): void {
    for (const handlers of this.#handlers) this.#call(handlers, event, a, b);
  }

  // A handler that throws must not stop the informer or the other handlers.
  #call(handlers: EventHandlers<T>, event: keyof EventHandlers<T>, a: T, b?: T): void {
    try {
      if (event === "onUpdate") handlers.onUpdate?.(a, b as T);
      else handlers[event]?.(a);
    } catch (error) {
      this.#logger.error({ err: error, event, key: objectKey(a) }, "event handler threw");
    }
  }
}

function isApiError410(error: unknown): boolean {
  return (error as { statusCode?: unknown })?.statusCode === 410 || isApiError(error, 410);
}

// client-node aborts a watch after 30 s without bytes; that is a quiet watch, not a failure.
function isInactivityTimeout(error: unknown): boolean {
  return (error as { name?: unknown })?.name === "TimeoutError";
}
