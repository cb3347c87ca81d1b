// The gateway's sockets: one SMTP server per configured listener, and the HTTP side. They are bound
// once, at start-up (reload-plan.ts refuses a policy that would move them); a reload reaches them
// through the state getters their connections read, and through the options they hold (ListenerUpdates).
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import type { Logger } from "pino";
import type { SMTPServer } from "smtp-server";
import type { ListenerConfig } from "../config/schema.ts";
import { createHttpServer } from "../observability/http.ts";
import type { Metrics } from "../observability/metrics.ts";
import { RateLimiter } from "../policy/rate-limiter.ts";
import type { ListenerRuntime } from "../smtp/listener-runtime.ts";
import { createListenerServer, policyOptions, tlsOptions } from "../smtp/server.ts";
import type { Drain } from "./drain.ts";
import type { GatewayState, ListenerUpdates } from "./gateway-state.ts";

type Addresses = Record<string, { address: string; port: number }>;

export interface Listeners extends ListenerUpdates {
  readonly servers: readonly SMTPServer[];
  /** Bound addresses, by listener name, and `http`. */
  readonly addresses: Readonly<Addresses>;
  close(): Promise<void>;
}

interface Shared {
  state: GatewayState;
  drain: Drain;
  limiter: RateLimiter;
  metrics: Metrics;
  logger: Logger;
}

/** Binds every listener and then the HTTP side; if one cannot listen, none stays open. */
export async function startListeners(
  state: GatewayState,
  drain: Drain,
  metrics: Metrics,
  logger: Logger,
): Promise<Listeners> {
  const shared = { state, drain, limiter: new RateLimiter(), metrics, logger };
  const servers: SMTPServer[] = [];
  const http = createHttpServer(metrics.registry, { ready: () => !drain.draining });
  const addresses: Addresses = {};
  const close = async () => {
    await Promise.all(servers.map(closeSmtp));
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  try {
    for (const listener of state.config.listeners) {
      const server = createListenerServer(listenerRuntime(listener, shared), state.tls);
      servers.push(server);
      addresses[listener.name] = await listen(server, listener.port, listener.address);
    }
    addresses.http = await listen(http, state.config.http.port, state.config.http.address);
  } catch (err) {
    // Nothing half-started stays behind: a port in use is a start-up error, not a partial gateway.
    await close();
    throw err;
  }
  return {
    servers,
    addresses,
    applyPolicy: (config) => {
      for (const server of servers) Object.assign(server.options, policyOptions(config));
    },
    applyTls: (tls) => {
      for (const server of servers) server.updateSecureContext(tlsOptions(tls));
    },
    close,
  };
}

function listenerRuntime(listener: ListenerConfig, shared: Shared): ListenerRuntime {
  const { state, drain, limiter, metrics, logger } = shared;
  return {
    listener,
    tlsAvailable: state.tls !== undefined,
    logger: logger.child({ listener: listener.name }),
    metrics,
    drain,
    limiter,
    config: () => state.config,
    auth: () => state.auth,
    lookupUser: (username) => state.store.lookup(username),
    relay: () => state.relay,
  };
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
