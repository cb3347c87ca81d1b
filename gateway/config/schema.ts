// The gateway's own configuration file (`gateway.yaml`, the `<gw>-policy` ConfigMap in a cluster).
// The operator renders it from a SubmissionGateway; standalone users write it by hand. Paths are
// relative to the configuration directory, which is laid out like mounted Kubernetes volumes.
import { isIP } from "node:net";
import { z } from "zod";
import { RateLimitSchema } from "../policy/rate-limit-schema.ts";
import { MECHANISM_NAMES } from "../sasl/mechanism.ts";
import { isLoopbackHost } from "./loopback.ts";

/** `address/bits`, or a single address. */
function isCidr(text: string): boolean {
  const [address = "", bits, extra] = text.split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

const port = z.number().int().min(1).max(65535);
const seconds = z.number().positive();

export const ListenerSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  address: z.string().default("0.0.0.0"),
  port,
  /** starttls: RFC 6409 submission; implicit-tls: RFC 8314 submissions; relay-port: AUTH optional,
   *  but any recipient without AUTH is refused (the gateway has no local domains to deliver to). */
  mode: z.enum(["starttls", "implicit-tls", "relay-port"]),
  /** A load balancer in front sends the PROXY protocol (v1 or v2): connections from these networks
   *  must start with its header, and the client it names is the client; connections from anywhere
   *  else are their own client (a header from them is not believed). */
  proxyProtocol: z
    .strictObject({
      trustedCidrs: z
        .array(
          z
            .string()
            .refine((c) => isCidr(c), { message: "expected an IPv4 or IPv6 network, e.g. 10.0.0.0/8" }),
        )
        .min(1),
    })
    .optional(),
});

export const TlsSchema = z.strictObject({
  certFile: z.string().default("tls/tls.crt"),
  keyFile: z.string().default("tls/tls.key"),
  minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2"),
  /** PEM bundle of the CA that signs client certificates; enables EXTERNAL. */
  clientCaFile: z.string().optional(),
  /** Standalone convenience: create a self-signed pair when the files are absent. */
  generateSelfSigned: z.boolean().default(false),
});

const WindowSchema = z.strictObject({
  maxFailures: z.number().int().min(1),
  windowSeconds: seconds,
  lockoutSeconds: seconds,
});

export const BruteForceSchema = z.strictObject({
  /** Failed AUTH attempts on one connection before `421 4.7.0` and disconnect. */
  maxFailuresPerConnection: z.number().int().min(1).default(3),
  /** Every failed AUTH is answered after this delay (as Dovecot's auth_failure_delay), which slows
   *  guessing and hides any residual timing difference between failure causes. */
  failureDelaySeconds: z.number().min(0).max(15).default(1),
  /** Penalized scopes slow attempts down (never refuse them): 1 s, doubling with every further failure,
   *  up to this. */
  maxDelaySeconds: z.number().min(1).max(60).default(15),
  perAddress: WindowSchema.default({ maxFailures: 20, windowSeconds: 300, lockoutSeconds: 900 }),
  perUser: WindowSchema.default({ maxFailures: 10, windowSeconds: 300, lockoutSeconds: 900 }),
});

export const OAuthSchema = z
  .strictObject({
    issuer: z.string().url(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUrl: z.string().url().optional(),
    jwksFile: z.string().optional(),
    usernameClaim: z.string().default("email"),
    /** Space-separated scopes every token must carry (and the error object advertises). */
    scope: z.string().optional(),
    /** Accepted JWT `typ` headers: RFC 9068 access tokens by default, so an ID token (typ JWT) or
     *  another kind of JWT from the same issuer is not taken for an access token. */
    tokenTypes: z.array(z.string().min(1)).min(1).default(["at+jwt"]),
    /** Oldest token accepted, from its `iat` (required); bounds replay of a leaked long-lived token. */
    maxTokenAgeSeconds: z.number().int().min(1).default(3600),
  })
  .refine((o) => (o.jwksUrl === undefined) !== (o.jwksFile === undefined), {
    message: "exactly one of jwksUrl and jwksFile is required",
  });

export const DEFAULT_CREDENTIALS_FILE = "credentials/users.yaml";

export const AuthSchema = z.strictObject({
  mechanisms: z.array(z.enum(MECHANISM_NAMES)).min(1).default(["SCRAM-SHA-256", "PLAIN", "LOGIN"]),
  /** One users file; `credentials/users.yaml` when neither this nor credentialsDir is set. */
  credentialsFile: z.string().optional(),
  /** Every `users-*.yaml` in this directory, read from one `..data` snapshot and merged: the operator
   *  writes the users as shards, so one password change rewrites one Secret, not all of them. */
  credentialsDir: z.string().optional(),
  /** Base64 of 32 bytes that decoy SCRAM salts for unknown users are derived with, so every replica
   *  and every restart answers an unknown name with the same salt; unset, a per-process random key. */
  scramDecoyKeyFile: z.string().optional(),
  oauth: OAuthSchema.optional(),
  /** Which certificate field names the user for EXTERNAL. */
  certificateIdentity: z.enum(["subjectAltName.email", "subject.CN"]).default("subjectAltName.email"),
  bruteForce: BruteForceSchema.default(BruteForceSchema.parse({})),
});

export const UpstreamSchema = z.strictObject({
  host: z.string().min(1),
  port: port.default(25),
  /** none: plain SMTP (loopback/sidecar only); starttls: required STARTTLS; implicit: RFC 8314. */
  tls: z.enum(["none", "starttls", "implicit"]).default("starttls"),
  verifyCertificate: z.boolean().default(true),
  caFile: z.string().optional(),
  /** Most upstream connections open at once; each client transaction holds one while it runs. */
  pool: z.number().int().min(1).max(1000).default(50),
  /** The most of the pool one user's transactions hold at once (at least one connection); a user's
   *  transaction past it waits for one of the user's own to end, so one user never starves others. */
  perUserShare: z.number().gt(0).max(1).default(0.5),
  /** Credentials the gateway uses with the upstream, read from mounted Secret files (re-read when
   *  they change, so a refreshed XOAUTH2 token is picked up without a restart). */
  auth: z
    .strictObject({
      mechanism: z.enum(["PLAIN", "LOGIN", "XOAUTH2"]).default("PLAIN"),
      usernameFile: z.string(),
      /** PLAIN/LOGIN password. */
      passwordFile: z.string().optional(),
      /** XOAUTH2 access token (e.g. kept fresh by a token-refresher sidecar). */
      tokenFile: z.string().optional(),
    })
    .refine((a) => (a.mechanism === "XOAUTH2" ? a.tokenFile !== undefined : a.passwordFile !== undefined), {
      message: "PLAIN/LOGIN need passwordFile, XOAUTH2 needs tokenFile",
    })
    .optional(),
  connectionTimeoutSeconds: seconds.default(10),
  socketTimeoutSeconds: seconds.default(60),
});

export const LimitsSchema = z.strictObject({
  maxMessageBytes: z
    .number()
    .int()
    .min(1024)
    .default(25 * 1024 * 1024),
  maxRecipients: z.number().int().min(1).default(100),
  /** Unauthenticated connections and idle sessions are closed after this long. */
  idleTimeoutSeconds: seconds.default(300),
  maxConnections: z.number().int().min(1).default(20000),
  /** Transactions one user may have open at once; each holds an upstream connection, so with the
   *  default pool of 50 one user can never take them all (an application with a big connection
   *  pool of its own still gets 40 in parallel). */
  maxTransactionsPerUser: z.number().int().min(1).default(40),
  /** Inside a transaction (MAIL FROM to the end of DATA, when it holds an upstream connection) the
   *  client may stay silent this long before `421 4.4.2` and disconnect. */
  transactionIdleSeconds: seconds.default(30),
  /** On SIGTERM, transactions under way may finish for this long (keep it below the pod's
   *  terminationGracePeriodSeconds). */
  shutdownGraceSeconds: seconds.default(25),
});

export const PolicySchema = z.strictObject({
  /** Which sender must belong to the authenticated user: the envelope MAIL FROM, the header From,
   *  or both (the default: SPF checks the first, DMARC and people read the second). */
  senderAlignment: z.enum(["envelope", "header", "both"]).default("both"),
  /** Default per-user send limits; a user's own `rateLimit` in the users file replaces it. */
  rateLimit: RateLimitSchema.optional(),
});

export const HttpSchema = z.strictObject({
  /** /livez, /readyz and /metrics; kept off the SMTP ports so probes never touch the SMTP surface. */
  address: z.string().default("0.0.0.0"),
  port: port.default(9090),
  /** Adds postern_user_messages_total{user,result}. Opt-in: one series per user and result, bounded
   *  by the users file (only authenticated, known users are counted). */
  perUserMetrics: z.boolean().default(false),
});

export const GatewayConfigSchema = z
  .strictObject({
    hostname: z.string().min(1).default("localhost"),
    listeners: z.array(ListenerSchema).min(1),
    tls: TlsSchema.optional(),
    auth: AuthSchema.default(AuthSchema.parse({})),
    upstream: UpstreamSchema,
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    policy: PolicySchema.default(PolicySchema.parse({})),
    http: HttpSchema.default(HttpSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    const ports = new Set<number>();
    cfg.listeners.forEach((l, i) => {
      if (ports.has(l.port)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", i, "port"],
          message: `port ${l.port} is used twice`,
        });
      }
      ports.add(l.port);
      if (l.mode === "implicit-tls" && !cfg.tls) {
        ctx.addIssue({ code: "custom", path: ["listeners", i, "mode"], message: "implicit-tls needs tls" });
      }
    });
    if (cfg.auth.mechanisms.includes("EXTERNAL") && !cfg.tls?.clientCaFile) {
      ctx.addIssue({
        code: "custom",
        path: ["auth", "mechanisms"],
        message: "EXTERNAL needs tls.clientCaFile",
      });
    }
    if (cfg.upstream.auth && cfg.upstream.tls === "none" && !isLoopbackHost(cfg.upstream.host)) {
      ctx.addIssue({
        code: "custom",
        path: ["upstream", "auth"],
        message:
          "upstream credentials need upstream.tls starttls or implicit (tls none only to a loopback host)",
      });
    }
    if (cfg.auth.credentialsDir !== undefined && cfg.auth.credentialsFile !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["auth", "credentialsDir"],
        message: "set credentialsDir or credentialsFile, not both",
      });
    }
    const jwksUrl = cfg.auth.oauth?.jwksUrl;
    if (
      jwksUrl &&
      !jwksUrl.startsWith("https:") &&
      !(jwksUrl.startsWith("http:") && isLoopbackHost(new URL(jwksUrl).hostname))
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["auth", "oauth", "jwksUrl"],
        message: "must be https (http only on a loopback address)",
      });
    }
    const oauth = cfg.auth.mechanisms.some((m) => m === "XOAUTH2" || m === "OAUTHBEARER");
    if (oauth && !cfg.auth.oauth) {
      ctx.addIssue({
        code: "custom",
        path: ["auth", "oauth"],
        message: "XOAUTH2/OAUTHBEARER need auth.oauth",
      });
    }
  });

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
export type ListenerConfig = z.infer<typeof ListenerSchema>;
export type BruteForceConfig = z.infer<typeof BruteForceSchema>;
