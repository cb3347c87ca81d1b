// Assembles a running gateway from a configuration directory: loads and validates every file, then
// starts the SMTP listeners and the HTTP side; afterwards keeps the loaded state current (hot
// reload) and drains on shutdown. Nothing listens until everything loaded, so a bad config stops
// start-up with the file and field named instead of serving half a policy.
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import type { SMTPServer } from "smtp-server";
import { AuthThrottle } from "./auth/throttle.ts";
import type { GatewayConfig } from "./config/schema.ts";
import { ConfigError } from "./config/yaml-file.ts";
import { createSaslBackend } from "./credentials/backend.ts";
import type { BearerVerifier } from "./credentials/oauth/bearer-verifier.ts";
import type { CredentialStore } from "./credentials/store.ts";
import { createHttpServer } from "./observability/http.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { pruneUserSeries } from "./observability/user-metrics.ts";
import { RateLimiter } from "./policy/rate-limiter.ts";
import { sourceAllowed } from "./policy/source-address.ts";
import type { Upstream } from "./relay/upstream-api.ts";
import { createUpstream } from "./relay/upstream-pool.ts";
import { Drain, drainSchedule } from "./runtime/drain.ts";
import {
  type ConfigKind,
  fingerprints,
  type LoadedTls,
  loadBearerVerifier,
  loadCredentials,
  loadPolicy,
  loadTls,
  resolver,
  watchedFiles,
} from "./runtime/loaders.ts";
import { restartOnlyChanges } from "./runtime/reload-plan.ts";
import { type DirectoryWatcher, watchDirectories } from "./runtime/watch.ts";
import type { AuthSettings } from "./smtp/auth-command.ts";
import type { ListenerRuntime } from "./smtp/listener-runtime.ts";
import { createListenerServer, policyOptions, tlsOptions } from "./smtp/server.ts";

export interface GatewayOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Milliseconds between a file change and its check (tests shorten it). */
  reloadDebounceMs?: number;
}

export interface Gateway {
  /** The policy in force now (it changes on reload). */
  readonly config: GatewayConfig;
  /** Bound addresses, by listener name, and `http`. */
  readonly addresses: Readonly<Record<string, { address: string; port: number }>>;
  /** Checks the files now and applies what changed (the watcher calls this too). */
  reload(): Promise<void>;
  /** SIGTERM: stop being ready, refuse new work with 421 4.3.2, finish transactions, then close;
   *  all within `graceMs` (default limits.shutdownGraceSeconds). */
  shutdown(graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Everything loaded from the directory. Each kind is replaced as a whole when its files change. */
interface State {
  config: GatewayConfig;
  store: CredentialStore;
  bearer: BearerVerifier | undefined;
  auth: AuthSettings;
  relay: Upstream;
  tls: LoadedTls | undefined;
  fingerprints: Record<ConfigKind, string>;
}

function authSettings(
  state: Omit<State, "auth" | "fingerprints">,
  throttle: AuthThrottle,
  metrics: Metrics,
  logger: Logger,
) {
  const { config } = state;
  return {
    enabled: config.auth.mechanisms,
    serverName: config.hostname,
    backend: createSaslBackend(state.store, state.bearer, config.auth.certificateIdentity),
    throttle,
    maxFailuresPerConnection: config.auth.bruteForce.maxFailuresPerConnection,
    failureDelayMs: config.auth.bruteForce.failureDelaySeconds * 1000,
    sourceAllowed: (username: string, address: string) =>
      sourceAllowed(state.store.lookup(username)?.allowedCidrs ?? [], address),
    metrics,
    logger,
  } satisfies AuthSettings;
}

async function listen(server: SMTPServer | HttpServer, port: number, address: string) {
  const s = server as unknown as { listen(port: number, host: string): void; server?: HttpServer };
  s.listen(port, address);
  const net = (s.server ?? server) as HttpServer;
  await once(net, "listening");
  const bound = net.address();
  return typeof bound === "object" && bound
    ? { address: bound.address, port: bound.port }
    : { address, port };
}

const closeSmtp = (s: SMTPServer) => new Promise<void>((resolve) => s.close(() => resolve()));

export async function startGateway(dir: string, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? pino({ name: "postern-gateway" });
  const metrics = options.metrics ?? createMetrics();
  const config = await loadPolicy(dir);
  const tls = await loadTls(config, dir);
  const store = await loadCredentials(config, dir);
  const bearer = await loadBearerVerifier(config, dir);
  const relay = createUpstream(config.upstream, config.hostname, resolver(dir));
  // Failure windows survive reloads: rotating a policy must not forgive an attacker.
  const throttle = new AuthThrottle(config.auth.bruteForce, metrics);
  const partial = { config, store, bearer, relay, tls };
  const state: State = {
    ...partial,
    auth: authSettings(partial, throttle, metrics, logger),
    fingerprints: await fingerprints(config, dir),
  };
  const drain = new Drain();
  const limiter = new RateLimiter();
  const recordLoad = (kind: ConfigKind) => {
    metrics.configReloads.inc({ kind, result: "success" });
    metrics.configLastReloadSuccess.set({ kind }, Date.now() / 1000);
    metrics.configLastReloadSuccessful.set({ kind }, 1);
  };
  const showState = () => {
    metrics.mechanismsOffered(state.config.auth.mechanisms);
    metrics.usersLoaded.set(state.store.size);
    if (state.tls) metrics.tlsCertificateExpiry.set(state.tls.notAfter.getTime() / 1000);
  };
  for (const kind of ["policy", "credentials", "tls"] as const) {
    metrics.configLastReloadSuccess.set({ kind }, Date.now() / 1000);
    metrics.configLastReloadSuccessful.set({ kind }, 1);
  }
  showState();

  const servers: SMTPServer[] = [];
  const http = createHttpServer(metrics.registry, { ready: () => !drain.draining });
  const addresses: Record<string, { address: string; port: number }> = {};
  try {
    for (const listener of config.listeners) {
      const runtime: ListenerRuntime = {
        listener,
        tlsAvailable: tls !== undefined,
        logger: logger.child({ listener: listener.name }),
        metrics,
        drain,
        limiter,
        config: () => state.config,
        auth: () => state.auth,
        lookupUser: (username) => state.store.lookup(username),
        relay: () => state.relay,
      };
      const server = createListenerServer(runtime, tls);
      servers.push(server);
      addresses[listener.name] = await listen(server, listener.port, listener.address);
    }
    addresses.http = await listen(http, config.http.port, config.http.address);
  } catch (err) {
    // Nothing half-started stays behind: a port in use is a start-up error, not a partial gateway.
    await Promise.all(servers.map(closeSmtp));
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    await relay.close();
    throw err;
  }

  /** Loads one kind; on any error the last good state stays in force. */
  async function reloadKind(kind: ConfigKind): Promise<void> {
    try {
      if (kind === "policy") {
        const next = await loadPolicy(dir);
        const pending = restartOnlyChanges(state.config, next);
        if (pending.length > 0) {
          throw new ConfigError(`${pending.join(", ")}: cannot change while running; restart the gateway`);
        }
        const nextBearer = await loadBearerVerifier(next, dir);
        const nextRelay = createUpstream(next.upstream, next.hostname, resolver(dir));
        const oldRelay = state.relay;
        Object.assign(state, { config: next, bearer: nextBearer, relay: nextRelay });
        // Only now that every part of the new policy loaded does it reach the listeners.
        for (const server of servers) Object.assign(server.options, policyOptions(next));
        // New transactions use the new upstream; those under way finish on the old one, whose
        // connections close as they end.
        void oldRelay.close();
      } else if (kind === "credentials") {
        const store = await loadCredentials(state.config, dir);
        state.store = store;
        await pruneUserSeries(metrics, (username) => store.lookup(username) !== undefined);
      } else {
        const next = await loadTls(state.config, dir);
        if (next) for (const server of servers) server.updateSecureContext(tlsOptions(next));
        state.tls = next;
      }
      // The brute-force policy reloads like the rest; the failures counted so far stay.
      throttle.configure(state.config.auth.bruteForce);
      state.auth = authSettings(state, throttle, metrics, logger);
      recordLoad(kind);
      showState();
      logger.info({ kind }, "configuration reloaded");
    } catch (err) {
      metrics.configReloads.inc({ kind, result: "failure" });
      metrics.configLastReloadSuccessful.set({ kind }, 0);
      logger.error(
        { kind, err: (err as Error).message },
        "configuration refused; the last good one stays in force",
      );
    }
  }

  let reloading: Promise<void> = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      // Policy first: it can move the other files or change how they are used (tls.minVersion), so
      // each kind is fingerprinted under the policy in force once the kinds before it reloaded.
      for (const kind of ["policy", "credentials", "tls"] as const) {
        const now = await fingerprints(state.config, dir);
        if (now[kind] === state.fingerprints[kind]) continue;
        state.fingerprints[kind] = now[kind];
        await reloadKind(kind);
      }
    });
    return reloading;
  };
  let watcher: DirectoryWatcher | undefined;
  const rewatch = () => {
    watcher?.close();
    const files = Object.values(watchedFiles(state.config, dir)).flat();
    watcher = watchDirectories(files, () => void reload().then(rewatchIfMoved), {
      debounceMs: options.reloadDebounceMs ?? 100,
      onError: (err) => logger.warn({ err: err.message }, "cannot watch configuration directory"),
    });
  };
  let watchedKey = "";
  const rewatchIfMoved = () => {
    const key = JSON.stringify(watchedFiles(state.config, dir));
    if (key !== watchedKey) {
      watchedKey = key;
      rewatch();
    }
  };
  rewatchIfMoved();
  logger.info({ addresses }, "gateway started");

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    watcher?.close();
    await Promise.all(servers.map(closeSmtp));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await state.relay.close();
  };
  return {
    get config() {
      return state.config;
    },
    addresses,
    reload,
    async shutdown(graceMs = state.config.limits.shutdownGraceSeconds * 1000) {
      const started = Date.now();
      const schedule = drainSchedule(graceMs, state.config.upstream.socketTimeoutSeconds * 1000);
      await drain.run(servers, schedule, logger);
      // Every client has been told 421; a peer slow to close its side does not hold the exit.
      await Promise.race([close(), sleep(Math.max(0, graceMs - (Date.now() - started)))]);
    },
    close,
  };
}
