// The Helm chart's values, in zod: the one source of charts/postern/values.schema.json (helm refuses
// values that do not match it, naming the field), values.yaml (the defaults, each commented) and the
// values table of charts/postern/README.md (charts/values/render.ts writes all three).
import { z } from "zod";
import { affinity, labelSelector, resourceRequirements, toleration } from "../../crds/schema/kubernetes.ts";
import { DURATION_FLAG, LOG_LEVELS } from "../../operator/cli/flags.ts";

const pullPolicy = z.enum(["Always", "IfNotPresent", "Never"]);
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
/** networking/v1 NetworkPolicyPeer: strict, so a misspelt field is refused with its name. */
const networkPolicyPeer = z.strictObject({
  podSelector: labelSelector
    .optional()
    .describe("Pods (in the policy's namespace, or those namespaceSelector picks)."),
  namespaceSelector: labelSelector.optional().describe("Namespaces whose pods may connect."),
  ipBlock: z
    .strictObject({
      cidr: z.string().min(1).describe("A CIDR, e.g. 10.0.0.0/8."),
      except: z.array(z.string().min(1)).optional().describe("CIDRs within it that may not."),
    })
    .optional()
    .describe("Addresses that may connect."),
});

const flagDuration = (defaultValue: string, what: string) =>
  z.string().regex(DURATION_FLAG).default(defaultValue).describe(`${what}; a duration such as 15s or 2m.`);
const stringMap = (what: string) => z.record(z.string(), z.string()).default({}).describe(what);
/** "auto": only when the cluster serves monitoring.coreos.com/v1 (prometheus-operator's CRDs). */
const autoSwitch = (what: string) =>
  z
    .union([z.literal("auto"), z.boolean()])
    .default("auto")
    .describe(
      `${what}: "auto" renders it only when the cluster serves monitoring.coreos.com/v1 (helm template: --api-versions monitoring.coreos.com/v1); true always, false never.`,
    );

export const valuesSchema = z.strictObject({
  image: z
    .strictObject({
      repository: z.string().min(1).default("ghcr.io/postern-io/postern").describe("The Postern image."),
      tag: z.string().default("").describe("Its tag; empty means the chart's appVersion."),
      pullPolicy: pullPolicy.default("IfNotPresent").describe("The operator container's imagePullPolicy."),
    })
    .prefault({})
    .describe("The Postern image: the operator runs it, and so do gateways without spec.image."),
  imagePullSecrets: z
    .array(z.strictObject({ name: z.string().min(1) }))
    .default([])
    .describe("Secrets for pulling the operator's image (e.g. [{name: regcred}])."),
  gatewayImage: z
    .strictObject({
      repository: z.string().default("").describe("Empty: image.repository."),
      tag: z.string().default("").describe("Empty: the operator's tag."),
      pullPolicy: z
        .union([z.literal(""), pullPolicy])
        .default("")
        .describe("The gateway pods' imagePullPolicy; empty: image.pullPolicy."),
    })
    .prefault({})
    .describe("The image of gateways whose SubmissionGateway has no spec.image (--gateway-image)."),
  crds: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          "Install the SubmissionGateway and SmtpUser CRDs. They carry helm.sh/resource-policy: keep, so uninstalling never deletes them (and every gateway with them).",
        ),
    })
    .prefault({})
    .describe("The CustomResourceDefinitions."),
  watchNamespaces: z
    .array(dnsLabel)
    .default([])
    .describe(
      "Namespaces the operator watches (--namespaces). Empty: all, through a ClusterRole; otherwise a Role and RoleBinding in each, and no cluster-wide grant.",
    ),
  replicas: z
    .int()
    .min(1)
    .max(10)
    .default(2)
    .describe("Operator replicas. One leader reconciles; the others keep warm caches to take over."),
  leaderElection: z
    .strictObject({
      leaseDuration: flagDuration("15s", "How long a Lease is valid without renewal"),
      renewDeadline: flagDuration("10s", "How long the leader keeps trying to renew; below leaseDuration"),
      retryPeriod: flagDuration("2s", "How often a standby tries to take the Lease; below renewDeadline"),
    })
    .prefault({})
    .describe("Leader election on a Lease named like the release, in the release's namespace."),
  workers: z.int().min(1).max(64).default(4).describe("Reconciles at once per controller (--workers)."),
  resync: flagDuration("10m", "How often every object is reconciled again, --resync"),
  logLevel: z.enum(LOG_LEVELS).default("info").describe("The operator's log level (--log-level)."),
  maxOldSpaceSizeMiB: z
    .int()
    .min(64)
    .default(144)
    .describe(
      "Node.js heap limit of the operator (--max-old-space-size): 144 fits 10,000 users; add about 8 per 1,000 more, and raise resources.limits.memory with it.",
    ),
  resources: resourceRequirements
    .default({ requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } })
    .describe("The operator container's resources."),
  podAnnotations: stringMap("Annotations on the operator's pods."),
  podLabels: stringMap("Extra labels on the operator's pods."),
  nodeSelector: stringMap("The operator pods' nodeSelector."),
  tolerations: z.array(toleration).default([]).describe("The operator pods' tolerations."),
  affinity: affinity
    .default({})
    .describe("The operator pods' affinity. Empty: the replicas prefer different nodes."),
  priorityClassName: z.string().default("").describe("The operator pods' priorityClassName."),
  serviceAccount: z
    .strictObject({ annotations: stringMap("Annotations on the operator's ServiceAccount.") })
    .prefault({})
    .describe("The operator's ServiceAccount (named like the release)."),
  metrics: z
    .strictObject({
      port: z
        .int()
        .min(1024)
        .max(65535)
        .default(8080)
        .describe("Port of /metrics, on the pods and the Service."),
    })
    .prefault({})
    .describe("The operator's metrics Service (port named metrics)."),
  monitoring: z
    .strictObject({
      serviceMonitor: z
        .strictObject({
          enabled: autoSwitch("A ServiceMonitor for the operator's metrics Service"),
          interval: flagDuration("30s", "How often Prometheus scrapes the operator"),
          labels: stringMap("Extra labels, e.g. what your Prometheus's serviceMonitorSelector matches."),
        })
        .prefault({}),
      prometheusRule: z
        .strictObject({
          enabled: autoSwitch("A PrometheusRule with Postern's alerts (files/prometheus-rules.yaml)"),
          labels: stringMap("Extra labels, e.g. what your Prometheus's ruleSelector matches."),
        })
        .prefault({}),
      dashboards: z
        .strictObject({
          enabled: z.boolean().default(false).describe("One ConfigMap per Grafana dashboard."),
          namespace: z.string().default("").describe("Where the ConfigMaps go; empty: the release's."),
          labelKey: z
            .string()
            .min(1)
            .default("grafana_dashboard")
            .describe("The label Grafana's dashboard sidecar looks for."),
          labelValue: z
            .string()
            .default("1")
            .describe("That label's value (a string: --set-string from the command line)."),
          annotations: stringMap("Annotations on the ConfigMaps (e.g. the sidecar's target folder)."),
        })
        .prefault({}),
    })
    .prefault({})
    .describe("prometheus-operator objects and Grafana dashboards."),
  networkPolicy: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe("A NetworkPolicy admitting only metrics scrapes to the operator's pods."),
      metricsFrom: z
        .array(networkPolicyPeer)
        .default([])
        .describe("NetworkPolicyPeers that may scrape the metrics port; empty: any."),
    })
    .prefault({})
    .describe("A NetworkPolicy for the operator's pods."),
  podDisruptionBudget: z
    .strictObject({
      enabled: z.boolean().default(true).describe("A PodDisruptionBudget for the operator's pods."),
      maxUnavailable: z.int().min(1).default(1).describe("Pods a voluntary disruption may take at once."),
    })
    .prefault({})
    .describe("A PodDisruptionBudget for the operator's pods."),
  test: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe("A `helm test` Pod that connects to a gateway, starts TLS, authenticates and quits."),
      gateway: z.string().default("").describe("The SubmissionGateway to probe (required when enabled)."),
      namespace: z.string().default("").describe("Its namespace; empty: the release's."),
      host: z
        .string()
        .default("")
        .describe(
          "The address to connect to; empty: <gateway>.<namespace>.svc (set it, e.g. to the Service's IP, where the cluster has no DNS).",
        ),
      port: z.int().min(1).max(65535).default(587).describe("The Service port of a STARTTLS listener."),
      credentialsSecret: z
        .strictObject({
          name: z
            .string()
            .default("")
            .describe("Secret in the release's namespace with a user's login (required when enabled)."),
          usernameKey: z.string().min(1).default("username").describe("Its key holding the username."),
          passwordKey: z.string().min(1).default("password").describe("Its key holding the password."),
        })
        .prefault({}),
      caSecret: z
        .strictObject({
          name: z
            .string()
            .default("")
            .describe("Secret in the release's namespace with the CA that signed the gateway's certificate."),
          key: z.string().min(1).default("ca.crt").describe("Its key holding the PEM certificates."),
        })
        .prefault({}),
      serverName: z
        .string()
        .default("")
        .describe("The name the certificate must carry; empty: the Service's DNS name."),
      insecureSkipVerify: z
        .boolean()
        .default(false)
        .describe("Accept any certificate (instead of caSecret): proves TLS and AUTH, not who answered."),
    })
    .prefault({})
    .describe("The `helm test` Pod: postern-gateway probe against a gateway's Service."),
});

export type Values = z.output<typeof valuesSchema>;
