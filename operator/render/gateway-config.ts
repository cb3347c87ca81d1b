// A SubmissionGateway's spec as the gateway's own configuration file (gateway.yaml, the format of
// docs/configuration.md), with every path pointing where the Deployment mounts the file.
import { posix } from "node:path";
import { stringify } from "yaml";
import type { z } from "zod";
import { durationMilliseconds } from "../../crds/schema/duration.ts";
import type { SubmissionGateway, SubmissionGatewaySpec } from "../../crds/schema/submission-gateway.ts";
import { type GatewayConfigSchema, LimitsSchema } from "../../gateway/config/schema.ts";
import type { RateLimitSchema } from "../../gateway/policy/rate-limit-schema.ts";
import { RenderError } from "./errors.ts";
import { fileNames, gatewayIdentity, keys, mountPaths } from "./labels.ts";
import { listenerPorts } from "./ports.ts";
import { quantityValue } from "./quantity.ts";

/** gateway.yaml as written: fields left out take the gateway's defaults. */
export type GatewayYaml = z.input<typeof GatewayConfigSchema>;
type Auth = NonNullable<GatewayYaml["auth"]>;
type Upstream = GatewayYaml["upstream"];
type Spec = SubmissionGatewaySpec;

const gatewayLimits = LimitsSchema.parse({});

/** How long the gateway lets transactions finish on SIGTERM (rendered, so the pod's grace period can rely on it). */
export const SHUTDOWN_GRACE_SECONDS = gatewayLimits.shutdownGraceSeconds;

const seconds = (duration: string) => durationMilliseconds(duration) / 1000;
// Relative to the configuration directory, as the gateway resolves them: in the pod they land where
// the Deployment mounts each volume, and a copy of the volumes laid side by side anywhere else (as
// the operator's contract tests do) works unchanged.
const path = (dir: string, file?: string) =>
  posix.relative(mountPaths.config, file === undefined ? dir : `${dir}/${file}`);

/** A rate limit of the API (`window` a duration) as the gateway's RateLimitSchema (`windowSeconds`). */
export function rateLimitConfig({
  window,
  ...limits
}: {
  messages?: number | undefined;
  recipients?: number | undefined;
  window: string;
}): z.input<typeof RateLimitSchema> {
  return {
    ...(limits.messages !== undefined && { messages: limits.messages }),
    ...(limits.recipients !== undefined && { recipients: limits.recipients }),
    windowSeconds: seconds(window),
  };
}

function tls(spec: Spec): GatewayYaml["tls"] {
  if (spec.tls === undefined) return undefined;
  return {
    certFile: path(mountPaths.tls, fileNames.tlsCertificate),
    keyFile: path(mountPaths.tls, fileNames.tlsKey),
    minVersion: spec.tls.minVersion,
    ...(spec.auth.external !== undefined && { clientCaFile: path(mountPaths.clientCa, fileNames.ca) }),
  };
}

const certificateIdentity = {
  "subject-alt-name-email": "subjectAltName.email",
  "subject-common-name": "subject.CN",
} as const;

function auth({ auth }: Spec): Auth {
  const { oauth, external, bruteForce } = auth;
  // The API counts failures per username and per client address within one window; so does each of these.
  const window = () => ({
    maxFailures: bruteForce.maxFailures,
    windowSeconds: seconds(bruteForce.window),
    lockoutSeconds: seconds(bruteForce.lockout),
  });
  return {
    mechanisms: [...auth.mechanisms],
    credentialsDir: path(mountPaths.credentials),
    scramDecoyKeyFile: path(mountPaths.credentials, keys.scramDecoyKey),
    ...(oauth !== undefined && {
      oauth: {
        issuer: oauth.issuer,
        audience: oauth.audience,
        ...(oauth.jwksURI !== undefined
          ? { jwksUrl: oauth.jwksURI }
          : { jwksFile: path(mountPaths.jwks, fileNames.jwks) }),
        usernameClaim: oauth.usernameClaim,
        tokenTypes: [...oauth.tokenTypes],
        ...(oauth.scopes.length > 0 && { scope: oauth.scopes.join(" ") }),
        maxTokenAgeSeconds: seconds(oauth.maxTokenAge),
      },
    }),
    ...(external !== undefined && { certificateIdentity: certificateIdentity[external.identity] }),
    bruteForce: {
      maxFailuresPerConnection: bruteForce.maxFailuresPerConnection,
      perAddress: window(),
      perUser: window(),
    },
  };
}

const upstreamTls = { starttls: "starttls", "implicit-tls": "implicit", none: "none" } as const;

function upstream({ relay }: Spec): Upstream {
  const password = path(mountPaths.upstreamAuth, fileNames.password);
  return {
    host: relay.host,
    port: relay.port,
    tls: upstreamTls[relay.tls.mode],
    verifyCertificate: !relay.tls.insecureSkipVerify,
    ...(relay.tls.caSecretRef !== undefined && { caFile: path(mountPaths.upstreamCa, fileNames.ca) }),
    pool: relay.pool.maxConnections,
    ...(relay.auth !== undefined && {
      auth: {
        mechanism: relay.auth.mechanism,
        usernameFile: path(mountPaths.upstreamAuth, fileNames.username),
        // A basic-auth Secret has no token key: for XOAUTH2 its password is the access token.
        ...(relay.auth.mechanism === "XOAUTH2" ? { tokenFile: password } : { passwordFile: password }),
      },
    }),
    connectionTimeoutSeconds: seconds(relay.timeouts.connect),
    socketTimeoutSeconds: seconds(relay.timeouts.socket),
  };
}

const minMessageBytes = LimitsSchema.shape.maxMessageBytes.unwrap().minValue ?? 1;

function maxMessageBytes(quantity: string | number): number {
  const bytes = quantityValue(quantity);
  if (bytes === undefined || bytes < BigInt(minMessageBytes) || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RenderError(
      "spec.policy.maxMessageSize",
      `${quantity} is not a size from ${minMessageBytes} bytes to 8Pi the gateway accepts`,
    );
  }
  return Number(bytes);
}

function limits({ policy, relay }: Spec): GatewayYaml["limits"] {
  return {
    maxMessageBytes: maxMessageBytes(policy.maxMessageSize),
    maxRecipients: policy.maxRecipients,
    // Each transaction holds an upstream connection: keep one user from taking the whole pool, at the
    // gateway's ratio (40 of the default 50).
    maxTransactionsPerUser: Math.max(
      1,
      Math.min(gatewayLimits.maxTransactionsPerUser, Math.floor(relay.pool.maxConnections * 0.8)),
    ),
    shutdownGraceSeconds: SHUTDOWN_GRACE_SECONDS,
  };
}

/** gateway.yaml for a gateway, as an object. Throws RenderError when the spec cannot be rendered. */
export function gatewayConfig(gateway: SubmissionGateway): GatewayYaml {
  const { name, namespace } = gatewayIdentity(gateway);
  const spec = gateway.spec;
  const tlsConfig = tls(spec);
  return {
    hostname: `${name}.${namespace}.svc`,
    listeners: listenerPorts(spec).map((l, i) => {
      const proxy = spec.listeners[i]?.proxyProtocol;
      return {
        name: l.name,
        address: "0.0.0.0",
        port: l.containerPort,
        mode: l.mode,
        ...(proxy !== undefined && { proxyProtocol: { trustedCidrs: [...proxy.trustedCIDRs] } }),
      };
    }),
    ...(tlsConfig !== undefined && { tls: tlsConfig }),
    auth: auth(spec),
    upstream: upstream(spec),
    limits: limits(spec),
    policy: {
      senderAlignment: spec.policy.senderAlignment,
      ...(spec.policy.rateLimit !== undefined && { rateLimit: rateLimitConfig(spec.policy.rateLimit) }),
    },
    http: {
      port: spec.observability.metricsPort,
      ...(spec.observability.perUserMetrics ? { perUserMetrics: true } : {}),
    },
  };
}

/** gateway.yaml for a gateway, as the text the ConfigMap holds. */
export function gatewayConfigYaml(gateway: SubmissionGateway): string {
  const { name, namespace } = gatewayIdentity(gateway);
  const header = `# Rendered by postern-operator from SubmissionGateway ${namespace}/${name}; edits are overwritten.\n`;
  return header + stringify(gatewayConfig(gateway), { lineWidth: 0, aliasDuplicateObjects: false });
}
