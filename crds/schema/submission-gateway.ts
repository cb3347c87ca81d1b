// SubmissionGateway: an authenticated SMTP submission service (RFC 6409) in front of an upstream relay.
import { z } from "zod";
import { PolicySchema, UpstreamSchema } from "../../gateway/config/schema.ts";
import { SCRAM_MIN_ITERATIONS } from "../../gateway/credentials/scram-credential.ts";
import { MECHANISM_NAMES } from "../../gateway/sasl/mechanism.ts";
import { submissionGatewayRules, withRules } from "../cel.ts";
import type { KindSource } from "../crd.ts";
import {
  cidrList,
  host,
  localRef,
  mapList,
  observedStatus,
  port,
  posternObject,
  rateLimit,
  secretKeyRef,
  setList,
  stringMap,
  url,
} from "./common.ts";
import { duration, durationText } from "./duration.ts";
import { affinity, labelSelector, quantity, resourceRequirements, toleration } from "./kubernetes.ts";
import { parser } from "./parse.ts";

/** Every SASL mechanism a gateway can offer: the gateway's own list, so the API cannot drift. */
export const saslMechanisms = MECHANISM_NAMES;

const listenerMode = z.enum(["starttls", "implicit-tls", "relay-port"]);

const listener = z.object({
  name: z
    .string()
    .max(15)
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
    .describe(
      "Name of the listener, also the Service port's name: at most 15 lower-case letters, digits and '-'.",
    ),
  port: port.describe("TCP port clients connect to on the Service."),
  mode: listenerMode.describe(
    "How the listener uses TLS and AUTH. starttls: RFC 6409 submission (port 587); plaintext greeting, and " +
      "when spec.tls is set STARTTLS is offered and required before MAIL (530 5.7.0). implicit-tls: RFC 8314 " +
      "submissions (port 465); TLS from the first byte, needs spec.tls. On both, MAIL without AUTH gets 530 " +
      "5.7.0. relay-port: for clients that cannot do TLS (e.g. port 2525 inside the cluster); STARTTLS offered " +
      "when spec.tls is set but never required, and AUTH optional, but every recipient of a client that has " +
      "not authenticated is refused (554 5.7.1): no listener relays for unauthenticated clients. Every " +
      "listener offers PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER only once the connection is encrypted, and " +
      "EXTERNAL only to a client that presented a certificate verified against " +
      "auth.external.clientCASecretRef.",
  ),
  proxyProtocol: z
    .object({
      trustedCIDRs: cidrList
        .min(1)
        .describe(
          "Networks of the load balancers in front (their addresses as the pods see them). A connection from " +
            "them must start with a PROXY protocol header (version 1 or 2), and the client it names is the one " +
            "per-address limits, allowedSourceRanges, Received headers and logs see; a connection from anywhere " +
            "else is its own client, and a PROXY header from it is not believed.",
        ),
    })
    .optional()
    .describe(
      "Accept the PROXY protocol from a load balancer that sends it (e.g. a cloud load balancer with proxy " +
        "protocol enabled), so the gateway sees the real client address behind it.",
    ),
});

const tls = z.object({
  secretRef: localRef("Secret").describe(
    "Secret of type kubernetes.io/tls (keys tls.crt and tls.key), such as the one a cert-manager Certificate " +
      "writes. A renewed certificate is loaded without restarting pods.",
  ),
  minVersion: z
    .enum(["TLSv1.2", "TLSv1.3"])
    .default("TLSv1.2")
    .describe("Oldest TLS version clients may negotiate."),
});

const oauth = z.object({
  issuer: url("https").describe("Issuer URL (the iss claim) tokens must carry."),
  audience: z.string().min(1).max(512).describe("Audience (the aud claim) tokens must be issued for."),
  jwksURI: url("https")
    .optional()
    .describe(
      "URL of the issuer's JSON Web Key Set (its OpenID configuration's jwks_uri). Exactly one of jwksURI and " +
        "jwksSecretRef is required: the gateway does not discover keys from the issuer.",
    ),
  jwksSecretRef: secretKeyRef("jwks.json")
    .optional()
    .describe("Secret key holding a JSON Web Key Set, for issuers the gateway cannot reach."),
  usernameClaim: z
    .string()
    .min(1)
    .max(256)
    .default("email")
    .describe(
      "Claim naming the user; it must equal the username the client sends and an SmtpUser's username. " +
        "With email, the token must also carry email_verified: true.",
    ),
  tokenTypes: setList(z.string().min(1).max(64), 8)
    .min(1)
    .default(["at+jwt"])
    .describe(
      "JWT typ headers accepted (compared case-insensitively, application/ optional). RFC 9068 access tokens " +
        "(at+jwt) by default, so an ID token from the same issuer is no access token; list JWT for issuers " +
        "whose access tokens say only that.",
    ),
  scopes: setList(z.string().min(1).max(256), 16)
    .default([])
    .describe("Scopes every token must carry, in its scope (or scp) claim."),
  maxTokenAge: durationText({ wholeSeconds: true })
    .default("1h")
    .describe("Oldest token accepted, by its iat claim (which is then required)."),
});

const external = z.object({
  clientCASecretRef: secretKeyRef("ca.crt").describe(
    "Secret key holding the CA bundle client certificates must chain to.",
  ),
  identity: z
    .enum(["subject-alt-name-email", "subject-common-name"])
    .default("subject-alt-name-email")
    .describe(
      "Certificate field whose values may name the user: subject-alt-name-email, every email (rfc822Name) " +
        "subjectAltName; subject-common-name, the subject CN (each, if repeated). Each value is looked up as " +
        "a username, case-insensitively, and values naming no enabled user are ignored: the certificate " +
        "identifies a user only if exactly one remains. A certificate naming none, or two different users, " +
        "identifies nobody and EXTERNAL fails.",
    ),
});

const bruteForce = z.object({
  maxFailuresPerConnection: z
    .int32()
    .min(1)
    .max(100)
    .default(3)
    .describe("Failed AUTH attempts after which the gateway closes the connection."),
  maxFailures: z
    .int32()
    .min(1)
    .max(10000)
    .default(10)
    .describe(
      "Failed AUTH attempts within `window` that start a penalty: per username (from any address), and per " +
        "client address (counting distinct usernames). A penalty slows attempts down, never refuses them: " +
        "each waits before any credential is checked, 1s doubling up to 15s, so a right password still logs in " +
        "and nobody can lock a user out. A username is not slowed at addresses it logged in from recently.",
    ),
  window: duration("15m").describe("Period over which failures are counted."),
  lockout: duration("15m").describe("How long a penalized username or client address stays slowed down."),
});

const auth = z.object({
  mechanisms: setList(z.enum(saslMechanisms), saslMechanisms.length)
    .min(1)
    .default(["SCRAM-SHA-256", "PLAIN", "LOGIN"])
    .describe(
      "SASL mechanisms offered, in the order EHLO lists them. CRAM-MD5 keeps a plaintext-equivalent secret on " +
        "the gateway: offer it only for clients that need it. Users whose credential is a {SCHEME} hash can use " +
        "only PLAIN and LOGIN.",
    ),
  scramIterations: z
    .int32()
    .min(SCRAM_MIN_ITERATIONS)
    .max(600000)
    .default(SCRAM_MIN_ITERATIONS)
    .describe(
      "PBKDF2 iterations of the SCRAM-SHA-256 keys the operator derives for users (at least 4096, RFC 7677). " +
        "Each stored SCRAM key is a cheaper target for offline guessing than the argon2id hash beside it, so " +
        "raise it where clients can afford the work (every SCRAM login costs the client as much); a change " +
        "re-derives every user's keys.",
    ),
  oauth: oauth.optional().describe("Token validation for XOAUTH2 and OAUTHBEARER (required by them)."),
  external: external.optional().describe("Client-certificate authentication for EXTERNAL (required by it)."),
  bruteForce: bruteForce
    .prefault({})
    .describe("Limits on failed AUTH attempts, within and across connections."),
});

const policy = z.object({
  senderAlignment: PolicySchema.shape.senderAlignment.describe(
    "Which senders must be among the user's allowedSenders. envelope: the envelope sender (MAIL FROM; SPF " +
      "checks it). header: every address in the message's From header (DMARC and people read it). both: " +
      "both. A message without a From header claims no header sender; one with two From fields is refused.",
  ),
  maxMessageSize: quantity
    .default("25Mi")
    .describe("Largest message accepted, in bytes; advertised as SIZE."),
  maxRecipients: z
    .int32()
    .min(1)
    .max(10000)
    .default(100)
    .describe("Most recipients (RCPT TO) one message may have."),
  rateLimit: rateLimit
    .optional()
    .describe(
      "Sending limits for every bound user whose own rateLimit does not replace them; unset, users are not " +
        "limited. Counted per gateway pod: with N replicas a user can send up to N times the limits.",
    ),
});

const relay = z.object({
  host: host.describe(
    "Upstream relay (smarthost) host name or IP address; the relay's certificate must be valid for it.",
  ),
  port: port.default(587).describe("Upstream relay port."),
  tls: z
    .object({
      mode: z
        .enum(["starttls", "implicit-tls", "none"])
        .default("starttls")
        .describe(
          "starttls: upgrade with STARTTLS, and fail if the relay does not offer it. implicit-tls: TLS from the " +
            "first byte (usually port 465). none: plaintext, for a relay on a trusted network only.",
        ),
      caSecretRef: secretKeyRef("ca.crt")
        .optional()
        .describe(
          "Secret key holding the CA bundle to verify the relay against, instead of the system roots.",
        ),
      insecureSkipVerify: z
        .boolean()
        .default(false)
        .describe(
          "Skip verifying the relay's certificate. For tests only: anyone on the path can read the mail.",
        ),
    })
    .prefault({})
    .describe("TLS towards the relay."),
  auth: z
    .object({
      secretRef: localRef("Secret").describe(
        "Secret of type kubernetes.io/basic-auth: keys username and password (for XOAUTH2, an access token that " +
          "whoever writes the Secret keeps fresh). Rotations are picked up without restarts.",
      ),
      mechanism: UpstreamSchema.shape.auth
        .unwrap()
        .shape.mechanism.describe("SASL mechanism to authenticate to the relay with."),
    })
    .optional()
    .describe("Credentials for the relay; omit for a relay that accepts the gateway unauthenticated."),
  pool: z
    .object({
      maxConnections: UpstreamSchema.shape.pool.describe(
        "Most connections to the relay open at once, per gateway pod. Each client transaction holds one from " +
          "MAIL FROM to the relay's reply after DATA; one that finds them all busy waits up to " +
          "timeouts.connect, then gets 451 4.4.1. Idle connections are reused.",
      ),
    })
    .prefault({})
    .describe("Connection pool towards the relay."),
  timeouts: z
    .object({
      connect: duration("10s").describe(
        "Time for each of: the TCP connection, the TLS handshake and the relay's greeting.",
      ),
      socket: duration("60s").describe("Time for each reply of the relay to a command."),
    })
    .prefault({})
    .describe("Timeouts towards the relay. A timeout gives the client 451 4.4.2, so it retries."),
});

const service = z.object({
  type: z
    .enum(["ClusterIP", "NodePort", "LoadBalancer"])
    .default("ClusterIP")
    .describe("Kubernetes Service type."),
  annotations: stringMap.optional().describe("Annotations for the Service, e.g. for a cloud load balancer."),
  externalTrafficPolicy: z
    .enum(["Cluster", "Local"])
    .optional()
    .describe(
      "For NodePort and LoadBalancer: Local keeps the client's source address visible to the gateway.",
    ),
});

const pod = z.object({
  resources: resourceRequirements.optional().describe("CPU and memory for the gateway container."),
  nodeSelector: stringMap.optional().describe("Node labels the pods must be scheduled onto."),
  tolerations: z.array(toleration).optional().describe("Taints the pods tolerate."),
  affinity: affinity
    .optional()
    .describe("Scheduling constraints; by default replicas are spread across nodes."),
  annotations: stringMap.optional().describe("Annotations for the pods."),
  priorityClassName: z.string().min(1).max(253).optional().describe("PriorityClass of the pods."),
});

const observability = z.object({
  metricsPort: port.default(9090).describe("Port of the pods' /metrics, /livez and /readyz endpoints."),
  perUserMetrics: z
    .boolean()
    .default(false)
    .describe(
      "Count messages per authenticated user (postern_user_messages_total{user,result}): one series per user " +
        "and outcome, for per-credential dashboards and alerts. Off by default: series grow with the users.",
    ),
  serviceMonitor: z
    .object({
      enabled: z
        .boolean()
        .default(false)
        .describe("Create a Prometheus Operator ServiceMonitor for the gateway."),
      interval: duration("30s").describe("Scrape interval."),
      labels: stringMap
        .optional()
        .describe("Labels for the ServiceMonitor, to match a Prometheus's selector."),
    })
    .prefault({})
    .describe("Prometheus Operator integration."),
  tracing: z
    .object({
      otlpEndpoint: url("http(s)").describe(
        "OTLP/HTTP traces endpoint, e.g. http://otel-collector.observability:4318/v1/traces.",
      ),
      samplingRatio: z
        .number()
        .min(0)
        .max(1)
        .default(0.1)
        .describe("Fraction of SMTP sessions traced, 0 to 1."),
    })
    .optional()
    .describe("OpenTelemetry tracing; off when unset."),
});

const specFields = z.object({
  replicas: z
    .int32()
    .min(0)
    .default(2)
    .describe("Gateway pods. Two or more keep the gateway up through node drains."),
  image: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe("Gateway container image; defaults to the gateway released with the operator."),
  listeners: mapList(listener, "name", 8)
    .min(1)
    .default([
      { name: "submission", port: 587, mode: "starttls" },
      { name: "submissions", port: 465, mode: "implicit-tls" },
    ])
    .describe("Ports the gateway accepts mail on."),
  tls: tls
    .optional()
    .describe(
      "Server certificate. Without it no listener can ever be encrypted, so implicit-tls listeners and the " +
        "mechanisms that need TLS (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, EXTERNAL) are refused.",
    ),
  auth: auth.prefault({}).describe("Client authentication."),
  userSelector: labelSelector
    .optional()
    .describe(
      "Narrows which SmtpUsers bind: a user binds when its spec.gatewayRef names this gateway and, if this is " +
        "set, its labels match.",
    ),
  policy: policy.prefault({}).describe("What authenticated users may send."),
  relay: relay.describe(
    "Where accepted mail goes. The client gets 250 only once the relay accepted the message.",
  ),
  service: service.prefault({}).describe("The Service clients connect to."),
  pod: pod.optional().describe("Scheduling and resources of the gateway pods."),
  observability: observability.prefault({}).describe("Metrics and tracing."),
});

export type SubmissionGatewaySpec = z.output<typeof specFields>;

const status = observedStatus(
  "Ready: the gateway accepts mail (pods ready, certificate loaded). Progressing: a change is rolling out. " +
    "Degraded: serving, but something needs attention (e.g. the relay refuses mail).",
  {
    readyReplicas: z.int32().min(0).optional().describe("Gateway pods ready to accept connections."),
    boundUsers: z.int32().min(0).optional().describe("SmtpUsers bound to this gateway."),
    endpoints: z
      .array(
        z.object({
          listener: z.string().describe("Name of the listener."),
          host: z.string().describe("Host name or address clients should connect to."),
          port: port.describe("Port clients should connect to."),
          mode: listenerMode.describe("TLS mode of the listener."),
        }),
      )
      .max(8)
      .optional()
      .describe("Where clients should connect, one entry per listener (the load balancer's address if any)."),
  },
);

export const submissionGatewaySchema = posternObject(
  "SubmissionGateway",
  withRules(specFields, Object.values(submissionGatewayRules)).describe("Desired state of the gateway."),
  status.describe("Observed state of the gateway, written by the operator."),
);

export type SubmissionGateway = z.output<typeof submissionGatewaySchema>;
/** A manifest as a user writes it: defaulted fields may be left out. */
export type SubmissionGatewayManifest = z.input<typeof submissionGatewaySchema>;

export const parseSubmissionGateway = parser(submissionGatewaySchema);

export const submissionGatewayKind: KindSource = {
  kind: "SubmissionGateway",
  plural: "submissiongateways",
  shortNames: ["sgw"],
  description:
    "A SubmissionGateway is an authenticated SMTP submission service (RFC 6409, ports 587 and 465) that hands " +
    "mail from SmtpUsers to an upstream relay.",
  schema: submissionGatewaySchema,
  printerColumns: [
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether the gateway accepts mail.",
    },
    { name: "Users", type: "integer", jsonPath: ".status.boundUsers", description: "SmtpUsers bound." },
    {
      name: "Replicas",
      type: "integer",
      jsonPath: ".status.readyReplicas",
      description: "Gateway pods ready.",
    },
    {
      name: "Age",
      type: "date",
      jsonPath: ".metadata.creationTimestamp",
      description: "Time since creation.",
    },
  ],
};
