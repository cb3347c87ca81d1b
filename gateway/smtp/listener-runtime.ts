// What a listener's connections need from the running gateway. Getters, not values: a reload swaps
// the state behind them, and new AUTH exchanges and transactions pick it up immediately.
import type { Logger } from "pino";
import type { GatewayConfig, ListenerConfig } from "../config/schema.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { RateLimit } from "../policy/rate-limit-schema.ts";
import type { RateLimiter } from "../policy/rate-limiter.ts";
import type { Upstream } from "../relay/upstream-api.ts";
import type { Drain } from "../runtime/drain.ts";
import type { AuthSettings } from "./auth-command.ts";

/** The parts of a user record the SMTP layer needs for policy. */
export interface SenderRecord {
  username: string;
  disabled: boolean;
  senders: readonly string[];
  authorizeFor: readonly string[];
  allowedCidrs: readonly string[];
  rateLimit?: RateLimit | undefined;
}

export interface ListenerRuntime {
  readonly listener: ListenerConfig;
  /** The listener offers TLS at all (implicit, or STARTTLS with a certificate configured). */
  readonly tlsAvailable: boolean;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly drain: Drain;
  /** Per-user send limits; outlives reloads. */
  readonly limiter: RateLimiter;
  config(): GatewayConfig;
  auth(): AuthSettings;
  lookupUser(username: string): SenderRecord | undefined;
  relay(): Upstream;
}
