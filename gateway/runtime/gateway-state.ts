// Everything the gateway loaded from its configuration directory, and the replacing of one kind of it
// (policy, credentials or TLS) when its files changed. Each kind is replaced as a whole or not at all:
// on any error the last good one stays in force, and the metrics and the log say so. Connections read
// the state through getters (smtp/listener-runtime.ts); what the listeners hold themselves changes only
// through ListenerUpdates, once the new kind loaded whole.
import type { Logger } from "pino";
import { AuthThrottle } from "../auth/throttle.ts";
import type { GatewayConfig } from "../config/schema.ts";
import { ConfigError } from "../config/yaml-file.ts";
import { createSaslBackend } from "../credentials/backend.ts";
import type { BearerVerifier } from "../credentials/oauth/bearer-verifier.ts";
import type { CredentialStore } from "../credentials/store.ts";
import type { Metrics } from "../observability/metrics.ts";
import { pruneUserSeries } from "../observability/user-metrics.ts";
import { sourceAllowed } from "../policy/source-address.ts";
import type { Upstream } from "../relay/upstream-api.ts";
import { createUpstream } from "../relay/upstream-pool.ts";
import type { AuthSettings } from "../smtp/auth-command.ts";
import {
  type ConfigKind,
  fingerprints,
  type LoadedTls,
  loadBearerVerifier,
  loadCredentials,
  loadPolicy,
  loadTls,
  resolver,
} from "./loaders.ts";
import { restartOnlyChanges } from "./reload-plan.ts";

/** Every kind, in the order a reload checks them (reloader.ts says why). */
export const CONFIG_KINDS = ["policy", "credentials", "tls"] as const satisfies readonly ConfigKind[];

/** What the listeners hold themselves rather than read through the state's getters. */
export interface ListenerUpdates {
  applyPolicy(config: GatewayConfig): void;
  applyTls(tls: LoadedTls): void;
}

/** What the AUTH command's settings are built from. */
type AuthSources = Pick<GatewayState, "config" | "store" | "bearer">;

/** `sourceAllowed` reads `sources.store` when asked: after a credentials reload, the store then in force. */
export function authSettings(
  sources: AuthSources,
  throttle: AuthThrottle,
  metrics: Metrics,
  logger: Logger,
): AuthSettings {
  const { config } = sources;
  return {
    enabled: config.auth.mechanisms,
    serverName: config.hostname,
    backend: createSaslBackend(sources.store, sources.bearer, config.auth.certificateIdentity),
    throttle,
    maxFailuresPerConnection: config.auth.bruteForce.maxFailuresPerConnection,
    failureDelayMs: config.auth.bruteForce.failureDelaySeconds * 1000,
    sourceAllowed: (username: string, address: string) =>
      sourceAllowed(sources.store.lookup(username)?.allowedCidrs ?? [], address),
    metrics,
    logger,
  };
}

interface Loaded extends AuthSources {
  relay: Upstream;
  tls: LoadedTls | undefined;
  auth: AuthSettings;
  fingerprints: Record<ConfigKind, string>;
}

interface Context {
  dir: string;
  throttle: AuthThrottle;
  metrics: Metrics;
  logger: Logger;
}

export class GatewayState {
  readonly dir: string;
  config: GatewayConfig;
  store: CredentialStore;
  bearer: BearerVerifier | undefined;
  auth: AuthSettings;
  relay: Upstream;
  tls: LoadedTls | undefined;
  /** Each kind's fingerprint as last checked (by the reloader, which updates it). */
  readonly fingerprints: Record<ConfigKind, string>;
  readonly #throttle: AuthThrottle;
  readonly #metrics: Metrics;
  readonly #logger: Logger;

  /** Loads every kind; throws the first ConfigError, before anything listens. */
  static async load(dir: string, metrics: Metrics, logger: Logger): Promise<GatewayState> {
    const config = await loadPolicy(dir);
    const tls = await loadTls(config, dir);
    const store = await loadCredentials(config, dir);
    const bearer = await loadBearerVerifier(config, dir);
    const relay = createUpstream(config.upstream, config.hostname, resolver(dir));
    // Failure windows survive reloads: rotating a policy must not forgive an attacker.
    const throttle = new AuthThrottle(config.auth.bruteForce, metrics);
    const partial = { config, store, bearer, relay, tls };
    const auth = authSettings(partial, throttle, metrics, logger);
    const loaded = { ...partial, auth, fingerprints: await fingerprints(config, dir) };
    const state = new GatewayState(loaded, { dir, throttle, metrics, logger });
    for (const kind of CONFIG_KINDS) state.#markLoaded(kind);
    state.#showState();
    return state;
  }

  private constructor(loaded: Loaded, context: Context) {
    this.dir = context.dir;
    this.config = loaded.config;
    this.store = loaded.store;
    this.bearer = loaded.bearer;
    this.auth = loaded.auth;
    this.relay = loaded.relay;
    this.tls = loaded.tls;
    this.fingerprints = loaded.fingerprints;
    this.#throttle = context.throttle;
    this.#metrics = context.metrics;
    this.#logger = context.logger;
  }

  /** Loads one kind; on any error the last good state stays in force. */
  async reloadKind(kind: ConfigKind, listeners: ListenerUpdates): Promise<void> {
    try {
      if (kind === "policy") await this.#reloadPolicy(listeners);
      else if (kind === "credentials") await this.#reloadCredentials();
      else await this.#reloadTls(listeners);
      // The brute-force policy reloads like the rest; the failures counted so far stay.
      this.#throttle.configure(this.config.auth.bruteForce);
      this.auth = authSettings(this, this.#throttle, this.#metrics, this.#logger);
      this.#metrics.configReloads.inc({ kind, result: "success" });
      this.#markLoaded(kind);
      this.#showState();
      this.#logger.info({ kind }, "configuration reloaded");
    } catch (err) {
      this.#metrics.configReloads.inc({ kind, result: "failure" });
      this.#metrics.configLastReloadSuccessful.set({ kind }, 0);
      this.#logger.error(
        { kind, err: (err as Error).message },
        "configuration refused; the last good one stays in force",
      );
    }
  }

  async #reloadPolicy(listeners: ListenerUpdates): Promise<void> {
    const next = await loadPolicy(this.dir);
    const pending = restartOnlyChanges(this.config, next);
    if (pending.length > 0) {
      throw new ConfigError(`${pending.join(", ")}: cannot change while running; restart the gateway`);
    }
    const nextBearer = await loadBearerVerifier(next, this.dir);
    const nextRelay = createUpstream(next.upstream, next.hostname, resolver(this.dir));
    const oldRelay = this.relay;
    this.config = next;
    this.bearer = nextBearer;
    this.relay = nextRelay;
    // Only now that every part of the new policy loaded does it reach the listeners.
    listeners.applyPolicy(next);
    // New transactions use the new upstream; those under way finish on the old one, whose
    // connections close as they end.
    void oldRelay.close();
  }

  async #reloadCredentials(): Promise<void> {
    const store = await loadCredentials(this.config, this.dir);
    this.store = store;
    await pruneUserSeries(this.#metrics, (username) => store.lookup(username) !== undefined);
  }

  async #reloadTls(listeners: ListenerUpdates): Promise<void> {
    const next = await loadTls(this.config, this.dir);
    if (next) listeners.applyTls(next);
    this.tls = next;
  }

  /** The kind's files are in force as of now. */
  #markLoaded(kind: ConfigKind): void {
    this.#metrics.configLastReloadSuccess.set({ kind }, Date.now() / 1000);
    this.#metrics.configLastReloadSuccessful.set({ kind }, 1);
  }

  #showState(): void {
    this.#metrics.mechanismsOffered(this.config.auth.mechanisms);
    this.#metrics.usersLoaded.set(this.store.size);
    if (this.tls) this.#metrics.tlsCertificateExpiry.set(this.tls.notAfter.getTime() / 1000);
  }
}
