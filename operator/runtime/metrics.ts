// The operator's Prometheus metrics. Work queue, reconcile and leader-election metrics carry the
// names and labels of client-go and controller-runtime, so dashboards and alerts written for Go
// operators work unchanged. One registry per process, passed to the parts that record into it, so
// tests can build an isolated one and assert on exact values.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What a work queue reports; the queue calls these, the registry does the bookkeeping. */
export interface QueueMetrics {
  depth(value: number): void;
  added(): void;
  retried(): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queueLatency(seconds: number): void;
  /** Seconds a worker held a key. */
  workDuration(seconds: number): void;
}

/** What a queue exposes at scrape time for the in-flight gauges. */
export interface QueueProbe {
  /** Sum of the seconds every key in processing has been held so far. */
  unfinishedWorkSeconds(): number;
  /** Seconds the longest-held key in processing has been held. */
  longestRunningProcessorSeconds(): number;
}

// controller-runtime's buckets: 10 ns .. 10^3 s, exponential by 10.
const queueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);
// controller-runtime's reconcile_time_seconds buckets.
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

export function createOperatorMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "postern_operator_" });
  const registers = [registry];
  const probes = new Map<string, QueueProbe>();

  const workqueueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueAdds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueRetries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries (rate-limited adds) handled by the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueQueueDuration = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long in seconds a key stays in the work queue before being requested.",
    labelNames: ["name"] as const,
    buckets: queueBuckets,
    registers,
  });
  const workqueueWorkDuration = new Histogram({
    name: "workqueue_work_duration_seconds",
    help: "How long in seconds processing a key from the work queue takes.",
    labelNames: ["name"] as const,
    buckets: queueBuckets,
    registers,
  });
  new Gauge({
    name: "workqueue_unfinished_work_seconds",
    help: "Seconds of work in progress not yet observed by work_duration; large values suggest stuck workers.",
    labelNames: ["name"] as const,
    registers,
    collect() {
      for (const [name, probe] of probes) this.set({ name }, probe.unfinishedWorkSeconds());
    },
  });
  new Gauge({
    name: "workqueue_longest_running_processor_seconds",
    help: "How many seconds the longest running processor of the work queue has been running.",
    labelNames: ["name"] as const,
    registers,
    collect() {
      for (const [name, probe] of probes) this.set({ name }, probe.longestRunningProcessorSeconds());
    },
  });

  // Per gateway, so "no ready gateway pod" can alert from the operator alone, without kube-state-metrics.
  const gatewayLabels = ["namespace", "gateway"] as const;
  const gatewayDesired = new Gauge({
    name: "postern_operator_gateway_replicas_desired",
    help: "Replicas each SubmissionGateway asks for (spec.replicas; 0 while its spec is invalid).",
    labelNames: gatewayLabels,
    registers,
  });
  const gatewayReady = new Gauge({
    name: "postern_operator_gateway_replicas_ready",
    help: "Ready replicas of each SubmissionGateway's Deployment, as its status reports them.",
    labelNames: gatewayLabels,
    registers,
  });

  return {
    registry,
    /** What the gateway controller found for a gateway; `undefined` once the gateway is gone. */
    gatewayReplicas(
      namespace: string,
      gateway: string,
      replicas: { desired: number; ready: number } | undefined,
    ): void {
      const labels = { namespace, gateway };
      if (replicas === undefined) {
        gatewayDesired.remove(labels);
        gatewayReady.remove(labels);
        return;
      }
      gatewayDesired.set(labels, replicas.desired);
      gatewayReady.set(labels, replicas.ready);
    },
    reconcileTotal: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller, by result (success, error, requeue, requeue_after).",
      labelNames: ["controller", "result"] as const,
      registers,
    }),
    reconcileErrors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller.",
      labelNames: ["controller"] as const,
      registers,
    }),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller.",
      labelNames: ["controller"] as const,
      buckets: reconcileBuckets,
      registers,
    }),
    activeWorkers: new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller.",
      labelNames: ["controller"] as const,
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller.",
      labelNames: ["controller"] as const,
      registers,
    }),
    leaderStatus: new Gauge({
      name: "leader_election_master_status",
      help: "1 while this process holds the named lease, 0 otherwise.",
      labelNames: ["name"] as const,
      registers,
    }),
    apiWrites: new Counter({
      name: "postern_operator_api_writes_total",
      help: "Writes the operator sent to the API server, by verb (apply, apply_status, create, update, patch, delete) and resource.",
      labelNames: ["verb", "resource"] as const,
      registers,
    }),

    /** The hooks a work queue named `name` records into; `probe` feeds the in-flight gauges. */
    queueMetrics(name: string, probe: QueueProbe): QueueMetrics {
      probes.set(name, probe);
      // As client-go does: a queue's series exist from its creation, retries included.
      workqueueDepth.set({ name }, 0);
      workqueueAdds.inc({ name }, 0);
      workqueueRetries.inc({ name }, 0);
      return {
        depth: (value) => workqueueDepth.set({ name }, value),
        added: () => workqueueAdds.inc({ name }),
        retried: () => workqueueRetries.inc({ name }),
        queueLatency: (seconds) => workqueueQueueDuration.observe({ name }, seconds),
        workDuration: (seconds) => workqueueWorkDuration.observe({ name }, seconds),
      };
    },

    /** The text exposition for /metrics. */
    render(): Promise<string> {
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
