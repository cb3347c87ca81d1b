// Assembles a running gateway from a configuration directory: loads and validates every file, then
// starts the SMTP listeners and the HTTP side; afterwards keeps the loaded state current (hot
// reload) and drains on shutdown. Nothing listens until everything loaded, so a bad config stops
// start-up with the file and field named instead of serving half a policy.
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import type { GatewayConfig } from "./config/schema.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { Drain, drainSchedule } from "./runtime/drain.ts";
import { GatewayState } from "./runtime/gateway-state.ts";
import { startListeners } from "./runtime/listeners.ts";
import { Reloader } from "./runtime/reloader.ts";

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

export async function startGateway(dir: string, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? pino({ name: "postern-gateway" });
  const metrics = options.metrics ?? createMetrics();
  const state = await GatewayState.load(dir, metrics, logger);
  const drain = new Drain();
  const listeners = await startListeners(state, drain, metrics, logger).catch(async (err) => {
    // The listeners closed themselves; the upstream pool is the state's to close.
    await state.relay.close();
    throw err;
  });
  const reloader = new Reloader(state, listeners, { debounceMs: options.reloadDebounceMs ?? 100, logger });
  reloader.watch();
  logger.info({ addresses: listeners.addresses }, "gateway started");

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await reloader.close();
    await listeners.close();
    await state.relay.close();
  };
  return {
    get config() {
      return state.config;
    },
    addresses: listeners.addresses,
    reload: () => reloader.reload(),
    async shutdown(graceMs = state.config.limits.shutdownGraceSeconds * 1000) {
      const started = Date.now();
      const schedule = drainSchedule(graceMs, state.config.upstream.socketTimeoutSeconds * 1000);
      await drain.run(listeners.servers, schedule, logger);
      // Every client has been told 421; a peer slow to close its side does not hold the exit.
      await Promise.race([close(), sleep(Math.max(0, graceMs - (Date.now() - started)))]);
    },
    close,
  };
}
