// The gateway dashboard: what a gateway's pods did, from the metrics of docs/metrics.md.
import { RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { dashboard, graph, quantile, ranking, rate, single, TARGET } from "./panels.ts";

const quantiles = (metric: string) =>
  ([0.5, 0.95, 0.99] as const).map((q): [string, string] => [quantile(q, metric), `p${q * 100}`]);

export function gatewayDashboard() {
  return dashboard({
    uid: "postern-gateway",
    title: "Postern gateway",
    description: "A SubmissionGateway's pods: connections, logins, messages, the upstream, reloads.",
    // Unlabelled and set from start-up on, so every gateway target has it.
    metric: "postern_users_loaded",
  })
    .withRow(new RowBuilder("Overview"))
    .withPanel(
      single({
        title: "Messages relayed",
        description: "Messages the upstream accepted, over the dashboard's time range.",
        unit: "short",
        queries: [
          [`sum(increase(postern_messages_total{${TARGET}, result="accepted"}[$__range]))`, "relayed"],
        ],
      }),
    )
    .withPanel(
      single({
        title: "Users loaded",
        description: "Users in the credential store in force, per pod (the lowest shown).",
        unit: "short",
        queries: [[`min(postern_users_loaded{${TARGET}})`, "users"]],
      }),
    )
    .withPanel(
      single({
        title: "Certificate expires in",
        description: "Time until the serving certificate in force expires (the soonest of the pods).",
        unit: "dtdurations",
        queries: [
          [`min(postern_tls_certificate_expiry_timestamp_seconds{${TARGET}}) - time()`, "expires in"],
        ],
      }),
    )
    .withPanel(
      single({
        title: "Open connections",
        description: "SMTP connections open now, all listeners and pods.",
        unit: "short",
        queries: [[`sum(postern_smtp_connections_active{${TARGET}})`, "open"]],
      }),
    )
    .withPanel(
      graph({
        title: "Connections",
        description: "Connections accepted per second, by listener.",
        unit: "cps",
        queries: [[`sum by (listener) (${rate("postern_smtp_connections_total")})`, "{{listener}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Open connections by listener",
        description: "SMTP connections open, by listener.",
        unit: "short",
        queries: [[`sum by (listener) (postern_smtp_connections_active{${TARGET}})`, "{{listener}}"]],
      }),
    )
    .withRow(new RowBuilder("Authentication"))
    .withPanel(
      graph({
        title: "AUTH results by mechanism",
        description:
          "AUTH exchanges per second by mechanism and result: failure is bad credentials, locked a " +
          "penalized user's attempt refused with 454, unavailable the store or token issuer down.",
        unit: "ops",
        stacked: true,
        queries: [
          [`sum by (mechanism, result) (${rate("postern_auth_attempts_total")})`, "{{mechanism}} {{result}}"],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Lockouts",
        description:
          "Brute-force penalties started, by scope: address and user slow attempts down, connection closes it (421).",
        unit: "short",
        queries: [
          [
            `sum by (scope) (increase(postern_auth_lockouts_total{${TARGET}}[$__rate_interval]))`,
            "{{scope}}",
          ],
        ],
      }),
    )
    .withRow(new RowBuilder("Messages"))
    .withPanel(
      graph({
        title: "Messages by result and reason",
        description: "Mail transactions per second: accepted (relayed), rejected or deferred, and why.",
        unit: "ops",
        stacked: true,
        queries: [[`sum by (result, reason) (${rate("postern_messages_total")})`, "{{result}} {{reason}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Policy rejections by reason",
        description: "Commands refused by policy per second (sender not owned, rate limits, size, ...).",
        unit: "ops",
        queries: [[`sum by (reason) (${rate("postern_policy_rejections_total")})`, "{{reason}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Message size",
        description: "Size of the messages relayed (with the added Received: header).",
        unit: "bytes",
        queries: quantiles("postern_message_size_bytes"),
      }),
    )
    .withPanel(
      ranking({
        title: "Top users",
        description:
          "The ten users with the most messages over the time range, each by outcome. Only with " +
          "per-user metrics on (SubmissionGateway spec.observability.perUserMetrics); empty otherwise.",
        unit: "short",
        queries: [
          [
            // Ten users (not ten user-and-outcome pairs), each split by outcome.
            `sum by (user, result) (increase(postern_user_messages_total{${TARGET}}[$__range])) and on (user) topk(10, sum by (user) (increase(postern_user_messages_total{${TARGET}}[$__range])))`,
            "{{user}} {{result}}",
          ],
        ],
      }),
    )
    .withRow(new RowBuilder("Upstream"))
    .withPanel(
      graph({
        title: "Relay results",
        description: "Hand-offs to the upstream per second, by result and the upstream's reply class.",
        unit: "ops",
        stacked: true,
        queries: [
          [`sum by (result, code_class) (${rate("postern_relay_total")})`, "{{result}} {{code_class}}"],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Relay latency",
        description: "From the end of the client's DATA to the upstream's final reply.",
        unit: "s",
        queries: quantiles("postern_relay_duration_seconds"),
      }),
    )
    .withPanel(
      graph({
        title: "Upstream errors",
        description:
          "Failed hand-offs per second by class: 4xx and 5xx are the upstream's replies, network means it never answered.",
        unit: "ops",
        queries: [
          [`sum by (code_class) (${rate("postern_relay_total", 'result="failed"')})`, "{{code_class}}"],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Upstream failure ratio",
        description:
          "Failed hand-offs as a share of all (the PosternUpstreamRefusing alert fires above 10%).",
        unit: "percentunit",
        queries: [
          [
            `sum(${rate("postern_relay_total", 'result="failed"')}) / sum(${rate("postern_relay_total")})`,
            "failed",
          ],
        ],
      }),
    )
    .withRow(new RowBuilder("Configuration"))
    .withPanel(
      graph({
        title: "Reloads",
        description: "Configuration reloads by kind and result, per pod.",
        unit: "short",
        queries: [
          [
            `sum by (pod, kind, result) (increase(postern_config_reloads_total{${TARGET}}[$__rate_interval]))`,
            "{{pod}} {{kind}} {{result}}",
          ],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Reload failures",
        description: "Reloads refused (the last good configuration stays in force), by pod and kind.",
        unit: "short",
        queries: [
          [
            `sum by (pod, kind) (increase(postern_config_reloads_total{${TARGET}, result="failure"}[$__rate_interval]))`,
            "{{pod}} {{kind}}",
          ],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Since the last successful load",
        description: "Time since each pod last loaded each kind of configuration.",
        unit: "s",
        queries: [
          [
            `time() - max by (pod, kind) (postern_config_last_reload_success_timestamp_seconds{${TARGET}})`,
            "{{pod}} {{kind}}",
          ],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Certificate expiry",
        description: "Time until each pod's serving certificate expires.",
        unit: "s",
        queries: [[`postern_tls_certificate_expiry_timestamp_seconds{${TARGET}} - time()`, "{{pod}}"]],
      }),
    );
}
