// The gateway's Prometheus metrics (names from the design notes; documented in docs/metrics.md).
// One registry per process, created once and passed to the parts that record into it, so tests can
// build an isolated registry and assert on exact values.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { PenaltyScope } from "../auth/throttle.ts";
import type { ConfigKind } from "../runtime/loaders.ts";

/** The `result` values of postern_auth_attempts_total. */
export const AUTH_RESULTS = [
  "success",
  "failure",
  "malformed",
  "cancelled",
  "unavailable",
  "locked",
  "too-long",
] as const;
export type AuthResult = (typeof AUTH_RESULTS)[number];

// The bounded label sets whose series exist from the start at 0. Without them, rate() and increase()
// have nothing to work on until the first event, and an alert on the first reload failure or the
// first lockout after a restart never fires (Prometheus' instrumentation guidance: avoid missing
// metrics).
const CONFIG_KINDS = ["policy", "credentials", "tls"] as const satisfies readonly ConfigKind[];
const LOCKOUT_SCOPES = ["address", "user", "connection"] as const satisfies readonly (
  | PenaltyScope
  | "connection"
)[];
const RELAY_OUTCOMES = [
  { result: "accepted", code_class: "2xx" },
  { result: "failed", code_class: "4xx" },
  { result: "failed", code_class: "5xx" },
  { result: "failed", code_class: "network" },
] as const;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "postern_" });
  const registers = [registry];
  const metrics = {
    registry,
    connectionsTotal: new Counter({
      name: "postern_smtp_connections_total",
      help: "SMTP connections accepted, by listener.",
      labelNames: ["listener"] as const,
      registers,
    }),
    connectionsActive: new Gauge({
      name: "postern_smtp_connections_active",
      help: "SMTP connections currently open, by listener.",
      labelNames: ["listener"] as const,
      registers,
    }),
    authAttempts: new Counter({
      name: "postern_auth_attempts_total",
      help: "AUTH exchanges by mechanism and result (success, failure, malformed, cancelled, unavailable, locked).",
      labelNames: ["mechanism", "result"] as const,
      registers,
    }),
    authLockouts: new Counter({
      name: "postern_auth_lockouts_total",
      help: "Lockouts started by the brute-force defence, by scope (address, user, connection).",
      labelNames: ["scope"] as const,
      registers,
    }),
    messages: new Counter({
      name: "postern_messages_total",
      help: "Mail transactions by result (accepted, rejected, deferred) and reason.",
      labelNames: ["result", "reason"] as const,
      registers,
    }),
    relay: new Counter({
      name: "postern_relay_total",
      help: "Upstream relay attempts by result and SMTP reply code class (2xx, 4xx, 5xx, network).",
      labelNames: ["result", "code_class"] as const,
      registers,
    }),
    relayDuration: new Histogram({
      name: "postern_relay_duration_seconds",
      help: "Time from end of DATA to the upstream's final reply.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    messageSize: new Histogram({
      name: "postern_message_size_bytes",
      help: "Size of messages relayed (accepted by the upstream), as the client sent them.",
      buckets: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 52428800],
      registers,
    }),
    userMessages: new Counter({
      name: "postern_user_messages_total",
      help: "Messages by authenticated user and upstream outcome (accepted, rejected, deferred); only with http.perUserMetrics.",
      labelNames: ["user", "result"] as const,
      registers,
    }),
    policyRejections: new Counter({
      name: "postern_policy_rejections_total",
      help: "Commands refused by policy, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    configReloads: new Counter({
      name: "postern_config_reloads_total",
      help: "Configuration reloads by kind (policy, credentials, tls) and result (success, failure).",
      labelNames: ["kind", "result"] as const,
      registers,
    }),
    configLastReloadSuccess: new Gauge({
      name: "postern_config_last_reload_success_timestamp_seconds",
      help: "Unix time of the last successful load, by kind.",
      labelNames: ["kind"] as const,
      registers,
    }),
    // A refused reload is one failure increment (unchanged content is not retried), so an alert needs
    // this state, not the counter, to keep firing while the refused content stays.
    configLastReloadSuccessful: new Gauge({
      name: "postern_config_last_reload_successful",
      help: "Whether the last load of each kind succeeded (1), or its newest content was refused (0).",
      labelNames: ["kind"] as const,
      registers,
    }),
    usersLoaded: new Gauge({
      name: "postern_users_loaded",
      help: "Users in the credential store currently in force.",
      registers,
    }),
    tlsCertificateExpiry: new Gauge({
      name: "postern_tls_certificate_expiry_timestamp_seconds",
      help: "Unix time at which the serving certificate currently in force expires.",
      registers,
    }),
    /** Zero series for every result of each mechanism offered (at start and after a policy reload). */
    mechanismsOffered(mechanisms: readonly string[]): void {
      for (const mechanism of mechanisms) {
        for (const result of AUTH_RESULTS) metrics.authAttempts.inc({ mechanism, result }, 0);
      }
    },
  };
  for (const kind of CONFIG_KINDS) {
    for (const result of ["success", "failure"]) metrics.configReloads.inc({ kind, result }, 0);
  }
  for (const outcome of RELAY_OUTCOMES) metrics.relay.inc(outcome, 0);
  for (const scope of LOCKOUT_SCOPES) metrics.authLockouts.inc({ scope }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
