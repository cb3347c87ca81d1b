// postern-operator's flags, named like controller-runtime managers' so people who run cert-manager
// or kubebuilder operators find them where they expect. Pure: argv in, options or a usage error out.
import { parseArgs } from "node:util";

export interface OperatorOptions {
  kubeconfig?: string;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  gatewayImage: string;
  gatewayImagePullPolicy: "Always" | "IfNotPresent" | "Never";
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  workers: number;
  resyncSeconds: number;
  logLevel: string;
}

export const USAGE = `usage: postern-operator [flags]
  --kubeconfig PATH                   kubeconfig (default: in-cluster config, else $KUBECONFIG / ~/.kube/config)
  --namespaces a,b                    namespaces to watch (default: all)
  --gateway-image IMAGE               gateway image for SubmissionGateways without spec.image (required)
  --gateway-image-pull-policy P       Always | IfNotPresent (default) | Never
  --leader-elect[=false]              elect a leader on a Lease (default true)
  --leader-election-namespace NS      namespace of the Lease (default: the pod's, else "default")
  --leader-election-id NAME           name of the Lease (default postern-operator)
  --leader-elect-lease-duration 15s   --leader-elect-renew-deadline 10s   --leader-elect-retry-period 2s
  --metrics-bind-address ADDR:PORT    /metrics (default :8080)
  --health-probe-bind-address ADDR    /healthz and /readyz (default :8081)
  --workers N                         reconciles at once per controller (default 4)
  --resync 10m                        every object reconciled again this often (default 10m)
  --log-level LEVEL                   trace | debug | info (default) | warn | error`;

/** A duration flag's spelling (one number, one unit); the Helm chart's values schema checks it too. */
export const DURATION_FLAG = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** The log levels pino knows, as --log-level takes them. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

function seconds(flag: string, text: string): number {
  const match = DURATION_FLAG.exec(text);
  if (!match) throw new Error(`--${flag}: not a duration: ${JSON.stringify(text)} (e.g. 15s, 2m)`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] ?? "s"] ?? 1;
  const value = Number(match[1]) * factor;
  if (value <= 0) throw new Error(`--${flag}: must be longer than zero`);
  return value;
}

/** Parses argv (without node and the script); throws an Error whose message names the flag. */
export function parseOperatorFlags(argv: string[], env: NodeJS.ProcessEnv = {}): OperatorOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      kubeconfig: { type: "string" },
      namespaces: { type: "string" },
      "gateway-image": { type: "string" },
      "gateway-image-pull-policy": { type: "string", default: "IfNotPresent" },
      "leader-elect": { type: "string" },
      "leader-election-namespace": { type: "string" },
      "leader-election-id": { type: "string", default: "postern-operator" },
      "leader-elect-lease-duration": { type: "string", default: "15s" },
      "leader-elect-renew-deadline": { type: "string", default: "10s" },
      "leader-elect-retry-period": { type: "string", default: "2s" },
      "metrics-bind-address": { type: "string", default: ":8080" },
      "health-probe-bind-address": { type: "string", default: ":8081" },
      workers: { type: "string", default: "4" },
      resync: { type: "string", default: "10m" },
      "log-level": { type: "string", default: "info" },
    },
  });
  const image = values["gateway-image"] ?? env.POSTERN_GATEWAY_IMAGE;
  if (!image) throw new Error("--gateway-image: required (or POSTERN_GATEWAY_IMAGE)");
  const pullPolicy = values["gateway-image-pull-policy"];
  if (pullPolicy !== "Always" && pullPolicy !== "IfNotPresent" && pullPolicy !== "Never") {
    throw new Error(`--gateway-image-pull-policy: must be Always, IfNotPresent or Never, not ${pullPolicy}`);
  }
  const leaderElect = values["leader-elect"] ?? "true";
  if (leaderElect !== "true" && leaderElect !== "false") {
    throw new Error(`--leader-elect: must be true or false, not ${leaderElect}`);
  }
  const logLevel = values["log-level"];
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`--log-level: must be one of ${LOG_LEVELS.join(", ")}, not ${logLevel}`);
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new Error(`--workers: must be an integer from 1 to 64, not ${values.workers}`);
  }
  const options: OperatorOptions = {
    kubeconfig: values.kubeconfig,
    namespaces: (values.namespaces ?? "")
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== ""),
    gatewayImage: image,
    gatewayImagePullPolicy: pullPolicy,
    leaderElect: leaderElect === "true",
    leaderElectionNamespace: values["leader-election-namespace"],
    leaderElectionId: values["leader-election-id"],
    leaseDurationSeconds: seconds("leader-elect-lease-duration", values["leader-elect-lease-duration"]),
    renewDeadlineSeconds: seconds("leader-elect-renew-deadline", values["leader-elect-renew-deadline"]),
    retryPeriodSeconds: seconds("leader-elect-retry-period", values["leader-elect-retry-period"]),
    metricsBindAddress: values["metrics-bind-address"],
    healthProbeBindAddress: values["health-probe-bind-address"],
    workers,
    resyncSeconds: seconds("resync", values.resync),
    logLevel,
  };
  // client-go's rule: the leader must give up before another replica may take over.
  if (!(options.leaseDurationSeconds > options.renewDeadlineSeconds)) {
    throw new Error("--leader-elect-lease-duration: must be longer than --leader-elect-renew-deadline");
  }
  if (!(options.renewDeadlineSeconds > options.retryPeriodSeconds)) {
    throw new Error("--leader-elect-renew-deadline: must be longer than --leader-elect-retry-period");
  }
  return options;
}

/** ":8080" → { host: undefined (all), port: 8080 }; "127.0.0.1:0" → an ephemeral port on loopback. */
export function bindAddress(flag: string, text: string): { host?: string; port: number } {
  const index = text.lastIndexOf(":");
  const port = Number(text.slice(index + 1));
  if (index < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--${flag}: must be [HOST]:PORT, not ${JSON.stringify(text)}`);
  }
  const host = text.slice(0, index).replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? undefined : host, port };
}
