// The operator dashboard: reconciles, their errors and time, the work queues, the leader, and the
// gateways' replicas, from the controller-runtime and client-go names the operator exports.
import { RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { dashboard, graph, quantile, rate, single, TARGET } from "./panels.ts";

/** The per-gateway gauges carry the gateway's namespace, not the operator's (the chart's ServiceMonitor
 *  honours the operator's labels): the operator's job alone picks them. */
const GATEWAYS = 'job="$job"';
const p95 = (metric: string, by: string) => quantile(0.95, metric, [by]);

export function operatorDashboard() {
  return dashboard({
    uid: "postern-operator",
    title: "Postern operator",
    description: "The Postern operator: reconciles, errors, work queues, the leader, the gateways' replicas.",
    // Postern's own process metric: only Postern's operator targets are offered, not other operators'.
    metric: "postern_operator_process_start_time_seconds",
  })
    .withRow(new RowBuilder("Leader and gateways"))
    .withPanel(
      single({
        title: "Leader",
        description: "Operator pods holding the Lease (1 expected; 0 fires PosternOperatorNoLeader).",
        unit: "short",
        queries: [[`sum(leader_election_master_status{${TARGET}})`, "leaders"]],
      }),
    )
    .withPanel(
      single({
        title: "Gateways without a ready pod",
        description: "Gateways that ask for pods but have none ready (PosternGatewayNoReadyPod).",
        unit: "short",
        queries: [
          [
            `count(postern_operator_gateway_replicas_ready{${GATEWAYS}} == 0 and postern_operator_gateway_replicas_desired{${GATEWAYS}} > 0) or vector(0)`,
            "gateways",
          ],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Leader by pod",
        description: "Which operator pod holds the Lease.",
        unit: "short",
        queries: [[`max by (pod) (leader_election_master_status{${TARGET}})`, "{{pod}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Gateway replicas",
        description:
          "Per SubmissionGateway (its namespace and name), the replicas it asks for and those ready.",
        unit: "short",
        queries: [
          [`postern_operator_gateway_replicas_desired{${GATEWAYS}}`, "{{namespace}}/{{gateway}} desired"],
          [`postern_operator_gateway_replicas_ready{${GATEWAYS}}`, "{{namespace}}/{{gateway}} ready"],
        ],
      }),
    )
    .withRow(new RowBuilder("Reconciles"))
    .withPanel(
      graph({
        title: "Reconciles",
        description: "Reconciles per second by controller and result.",
        unit: "ops",
        stacked: true,
        queries: [
          [
            `sum by (controller, result) (${rate("controller_runtime_reconcile_total")})`,
            "{{controller}} {{result}}",
          ],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Reconcile errors",
        description: "Failed reconciles per second by controller (retried with backoff).",
        unit: "ops",
        queries: [
          [`sum by (controller) (${rate("controller_runtime_reconcile_errors_total")})`, "{{controller}}"],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Reconcile time (p95)",
        description: "95th percentile of the time one reconcile takes, by controller.",
        unit: "s",
        queries: [[p95("controller_runtime_reconcile_time_seconds", "controller"), "{{controller}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "API writes",
        description: "Writes the operator sends to the API server, by verb and resource.",
        unit: "ops",
        queries: [
          [`sum by (verb, resource) (${rate("postern_operator_api_writes_total")})`, "{{verb}} {{resource}}"],
        ],
      }),
    )
    .withRow(new RowBuilder("Work queues"))
    .withPanel(
      graph({
        title: "Queue depth",
        description: "Keys waiting in each work queue.",
        unit: "short",
        queries: [[`sum by (name) (workqueue_depth{${TARGET}})`, "{{name}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Adds and retries",
        description: "Keys added to each queue per second, and those re-added with backoff after an error.",
        unit: "ops",
        queries: [
          [`sum by (name) (${rate("workqueue_adds_total")})`, "{{name}} adds"],
          [`sum by (name) (${rate("workqueue_retries_total")})`, "{{name}} retries"],
        ],
      }),
    )
    .withPanel(
      graph({
        title: "Queue latency (p95)",
        description: "95th percentile of the time a key waits in the queue before a worker takes it.",
        unit: "s",
        queries: [[p95("workqueue_queue_duration_seconds", "name"), "{{name}}"]],
      }),
    )
    .withPanel(
      graph({
        title: "Work duration (p95)",
        description: "95th percentile of the time a worker holds a key.",
        unit: "s",
        queries: [[p95("workqueue_work_duration_seconds", "name"), "{{name}}"]],
      }),
    );
}
