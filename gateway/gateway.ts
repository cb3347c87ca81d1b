// Assembles a running gateway from a configuration directory: loads and validates every file,
// then starts the SMTP listeners and the HTTP side. Nothing listens until everything loaded, so a
// bad config stops start-up with the file and field named, instead of serving half a policy.
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import { isAbsolute, join } from "node:path";
import pino, { type Logger } from "pino";
import type { SMTPServer } from "smtp-server";
import { AuthThrottle } from "./auth/throttle.ts";
import { type GatewayConfig, GatewayConfigSchema } from "./config/schema.ts";
import { ConfigError, readYamlFile } from "./config/yaml-file.ts";
import { createSaslBackend } from "./credentials/backend.ts";
import { loadCredentialsFile } from "./credentials/load.ts";
import { createBearerVerifier } from "./credentials/oauth/bearer-verifier.ts";
import type { CredentialStore } from "./credentials/store.ts";
import { createHttpServer } from "./observability/http.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { UpstreamRelay } from "./relay/upstream.ts";
import type { AuthSettings } from "./smtp/auth-command.ts";
import type { ListenerRuntime } from "./smtp/listener-runtime.ts";
import { createListenerServer, type TlsMaterial } from "./smtp/server.ts";
import { generateSelfSigned, loadTlsMaterial, type TlsFiles } from "./tls/material.ts";

export const CONFIG_FILE = "gateway.yaml";

export interface GatewayOptions {
  logger?: Logger;
  metrics?: Metrics;
}

/** Everything loaded from the directory; replaced as a whole when files change. */
interface LoadedState {
  config: GatewayConfig;
  store: CredentialStore;
  auth: AuthSettings;
  relay: UpstreamRelay;
  tls: (TlsMaterial & { notAfter: Date }) | undefined;
}

export interface Gateway {
  readonly config: GatewayConfig;
  /** Bound addresses, by listener name, and the HTTP address. */
  readonly addresses: Readonly<Record<string, { address: string; port: number }>>;
  close(): Promise<void>;
}

function resolver(dir: string) {
  return (path: string) => (isAbsolute(path) ? path : join(dir, path));
}

function tlsFiles(config: GatewayConfig, resolve: (p: string) => string): TlsFiles | undefined {
  if (!config.tls) return undefined;
  return {
    certFile: resolve(config.tls.certFile),
    keyFile: resolve(config.tls.keyFile),
    clientCaFile: config.tls.clientCaFile ? resolve(config.tls.clientCaFile) : undefined,
    minVersion: config.tls.minVersion,
  };
}

async function readJsonFile(path: string, field: string) {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`${path}: cannot read ${field}: ${(err as Error).message}`);
  }
}

async function loadState(dir: string, throttle: (c: GatewayConfig) => AuthThrottle, metrics: Metrics) {
  const resolve = resolver(dir);
  const config = await readYamlFile(join(dir, CONFIG_FILE), GatewayConfigSchema);
  const files = tlsFiles(config, resolve);
  if (files && config.tls?.generateSelfSigned) await generateSelfSigned(files, config.hostname);
  const tls = files ? await loadTlsMaterial(files) : undefined;
  const store = await loadCredentialsFile(resolve(config.auth.credentialsFile));
  const oauth = config.auth.oauth;
  const bearer = oauth
    ? createBearerVerifier({
        ...oauth,
        jwks: oauth.jwksFile ? await readJsonFile(resolve(oauth.jwksFile), "auth.oauth.jwksFile") : undefined,
      })
    : undefined;
  const auth: AuthSettings = {
    enabled: config.auth.mechanisms as AuthSettings["enabled"],
    serverName: config.hostname,
    backend: createSaslBackend(store, bearer, config.auth.certificateIdentity),
    throttle: throttle(config),
    maxFailuresPerConnection: config.auth.bruteForce.maxFailuresPerConnection,
    failureDelayMs: config.auth.bruteForce.failureDelaySeconds * 1000,
    metrics,
  };
  const relay = new UpstreamRelay(config.upstream, config.hostname, resolve);
  return { config, store, auth, relay, tls } satisfies LoadedState;
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

export async function startGateway(dir: string, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? pino({ name: "postern-gateway" });
  const metrics = options.metrics ?? createMetrics();
  let throttle: AuthThrottle | undefined;
  const state: LoadedState = await loadState(
    dir,
    (config) => {
      throttle ??= new AuthThrottle(config.auth.bruteForce, metrics);
      return throttle;
    },
    metrics,
  );
  metrics.usersLoaded.set(state.store.size ?? 0);
  if (state.tls) metrics.tlsCertificateExpiry.set(state.tls.notAfter.getTime() / 1000);
  let ready = false;

  const servers: SMTPServer[] = [];
  const addresses: Record<string, { address: string; port: number }> = {};
  try {
    for (const listener of state.config.listeners) {
      const runtime: ListenerRuntime = {
        listener,
        tlsAvailable: state.tls !== undefined,
        logger: logger.child({ listener: listener.name }),
        metrics,
        config: () => state.config,
        auth: () => state.auth,
        lookupUser: (username) => state.store.lookup(username),
        relay: () => state.relay,
      };
      const server = createListenerServer(runtime, state.tls);
      servers.push(server);
      addresses[listener.name] = await listen(server, listener.port, listener.address);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    state.relay.close();
    throw err;
  }
  const http = createHttpServer(metrics.registry, { ready: () => ready });
  addresses.http = await listen(http, state.config.http.port, state.config.http.address);
  ready = true;
  logger.info({ addresses }, "gateway started");

  return {
    config: state.config,
    addresses,
    async close() {
      ready = false;
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await new Promise<void>((r) => http.close(() => r()));
      state.relay.close();
    },
  };
}
