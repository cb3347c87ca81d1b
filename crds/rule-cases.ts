// For every rule in cel.ts, objects it accepts and objects it refuses, each refused one breaking that rule
// alone. cel.test.ts runs them through zod, crds.cluster-test.ts through a real API server.
import type { RuleName } from "./cel.ts";
import type { SmtpUserManifest } from "./schema/smtp-user.ts";
import type { SubmissionGatewayManifest } from "./schema/submission-gateway.ts";

type Manifest = SubmissionGatewayManifest | SmtpUserManifest;

export interface RuleCase {
  accepted: Manifest[];
  refused: Manifest[];
}

type GatewaySpec = SubmissionGatewayManifest["spec"];

// Fields set to undefined are left out, as JSON.stringify leaves them out of what kubectl sends.

/** A gateway with a certificate and a relay; `spec` replaces or adds fields. */
export function gateway(spec: Partial<GatewaySpec> = {}): SubmissionGatewayManifest {
  return {
    apiVersion: "postern.io/v1alpha1",
    kind: "SubmissionGateway",
    metadata: { name: "rule-case" },
    spec: { tls: { secretRef: { name: "gateway-tls" } }, relay: { host: "smtp.example.com" }, ...spec },
  };
}

/** A gateway without a certificate: no listener can be encrypted. */
const plaintextGateway = (spec: Partial<GatewaySpec>) => gateway({ tls: undefined, ...spec });

/** A user with a password Secret; `spec` replaces or adds fields. */
export function user(spec: Partial<SmtpUserManifest["spec"]> = {}): SmtpUserManifest {
  return {
    apiVersion: "postern.io/v1alpha1",
    kind: "SmtpUser",
    metadata: { name: "rule-case" },
    spec: {
      gatewayRef: { name: "corp" },
      passwordSecretRef: { name: "rule-case-password" },
      allowedSenders: ["app@example.com"],
      ...spec,
    },
  };
}

const starttlsOnly = [{ name: "submission", port: 587, mode: "starttls" as const }];
const oauth = {
  issuer: "https://login.example.com",
  audience: "smtp",
  jwksURI: "https://login.example.com/keys",
};

export const ruleCases: Record<RuleName, RuleCase> = {
  listenerPortsUnique: {
    accepted: [gateway()],
    refused: [
      gateway({
        listeners: [
          { name: "submission", port: 587, mode: "starttls" },
          { name: "legacy", port: 587, mode: "relay-port" },
        ],
      }),
    ],
  },
  metricsPortFree: {
    accepted: [gateway({ observability: { metricsPort: 9100 } })],
    refused: [gateway({ observability: { metricsPort: 465 } })],
  },
  implicitTLSNeedsCertificate: {
    accepted: [plaintextGateway({ listeners: starttlsOnly, auth: { mechanisms: ["SCRAM-SHA-256"] } })],
    refused: [plaintextGateway({ auth: { mechanisms: ["SCRAM-SHA-256"] } })],
  },
  mechanismsNeedTLS: {
    accepted: [
      plaintextGateway({ listeners: starttlsOnly, auth: { mechanisms: ["SCRAM-SHA-256", "CRAM-MD5"] } }),
    ],
    refused: [
      plaintextGateway({ listeners: starttlsOnly }),
      plaintextGateway({ listeners: starttlsOnly, auth: { mechanisms: ["OAUTHBEARER"], oauth } }),
    ],
  },
  externalNeedsClientCA: {
    accepted: [
      gateway({ auth: { mechanisms: ["EXTERNAL"], external: { clientCASecretRef: { name: "client-ca" } } } }),
    ],
    refused: [gateway({ auth: { mechanisms: ["SCRAM-SHA-256", "EXTERNAL"] } })],
  },
  oauthNeedsIssuer: {
    accepted: [gateway({ auth: { mechanisms: ["XOAUTH2", "OAUTHBEARER"], oauth } })],
    refused: [gateway({ auth: { mechanisms: ["XOAUTH2"] } })],
  },
  oneKeySetSource: {
    accepted: [
      gateway({ auth: { mechanisms: ["OAUTHBEARER"], oauth } }),
      gateway({
        auth: {
          mechanisms: ["OAUTHBEARER"],
          oauth: { ...oauth, jwksURI: undefined, jwksSecretRef: { name: "issuer-keys" } },
        },
      }),
    ],
    refused: [
      gateway({
        auth: { mechanisms: ["OAUTHBEARER"], oauth: { ...oauth, jwksSecretRef: { name: "issuer-keys" } } },
      }),
      gateway({ auth: { mechanisms: ["OAUTHBEARER"], oauth: { ...oauth, jwksURI: undefined } } }),
    ],
  },
  relayCredentialsNeedTLS: {
    accepted: [
      gateway({ relay: { host: "smtp.example.com", auth: { secretRef: { name: "relay-login" } } } }),
    ],
    refused: [
      gateway({
        relay: {
          host: "smtp.example.com",
          tls: { mode: "none" },
          auth: { secretRef: { name: "relay-login" } },
        },
      }),
    ],
  },
  trafficPolicyNeedsExternalService: {
    accepted: [gateway({ service: { type: "LoadBalancer", externalTrafficPolicy: "Local" } })],
    refused: [gateway({ service: { externalTrafficPolicy: "Local" } })],
  },
  oneCredentialSource: {
    accepted: [
      user(),
      user({ passwordSecretRef: undefined, passwordHashSecretRef: { name: "migrated-hash" } }),
    ],
    refused: [user({ passwordSecretRef: undefined }), user({ serviceAccountRef: { name: "mailer" } })],
  },
  senderLocalPartLength: {
    accepted: [user({ allowedSenders: [`${"a".repeat(64)}@example.com`, "*@example.com"] })],
    refused: [user({ allowedSenders: [`${"a".repeat(65)}@example.com`] })],
  },
  rateLimitWindow: {
    accepted: [
      user({ rateLimit: { messages: 10, window: "1s" } }),
      user({ rateLimit: { messages: 10, window: "23h59m60s" } }),
      gateway({ policy: { rateLimit: { recipients: 100, window: "1440m" } } }),
    ],
    refused: [
      user({ rateLimit: { messages: 10, window: "24h1s" } }),
      gateway({ policy: { rateLimit: { recipients: 100, window: "86401s" } } }),
    ],
  },
  cidr: {
    accepted: [user({ allowedSourceRanges: ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"] })],
    refused: [
      user({ allowedSourceRanges: ["10.0.0.0/33"] }),
      user({ allowedSourceRanges: ["10.0.0.0"] }),
      user({ allowedSourceRanges: ["2001:db8::/129"] }),
      user({ allowedSourceRanges: ["10.0.0.0/08"] }),
      user({ allowedSourceRanges: ["::ffff:10.0.0.0/104"] }),
    ],
  },
};
