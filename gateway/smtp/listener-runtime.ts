// What a listener's connections need from the running gateway. Getters, not values: a reload swaps
// the state behind them, and new AUTH exchanges and transactions pick it up immediately.
import type { Logger } from "pino";
import type { GatewayConfig, ListenerConfig } from "../config/schema.ts";
import type { UserProfile } from "../credentials/store.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { RateLimiter } from "../policy/rate-limiter.ts";
import type { Upstream } from "../relay/upstream-api.ts";
import type { Drain } from "../runtime/drain.ts";
import type { AuthSettings } from "./auth-command.ts";

/** A user as the SMTP layer sees it for policy: the credential store's view, without verifiers. */
export type SenderRecord = UserProfile;

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
