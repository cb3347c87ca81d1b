// The cross-field rules, each written once: the CEL expression the API server evaluates
// (x-kubernetes-validations) beside the same predicate in TypeScript, which zod runs through superRefine.
// Both see the object after defaulting. rule-cases.ts holds a passing and a failing object for every rule;
// the unit tests run them through zod and the cluster tests through a real API server.
import { isIPv4, isIPv6 } from "node:net";
import type { z } from "zod";
import { RateLimitSchema } from "../gateway/policy/rate-limit-schema.ts";
import { durationMilliseconds, secondsDuration } from "./schema/duration.ts";
import type { SmtpUserSpec } from "./schema/smtp-user.ts";
import type { SubmissionGatewaySpec } from "./schema/submission-gateway.ts";

export interface Rule<T> {
  /** CEL; `self` is the value the rule is attached to. */
  rule: string;
  /** What the API server (and zod) says when the rule fails. */
  message: string;
  /** Where the failure is reported, relative to `self` (`.a.b`). */
  fieldPath?: string;
  /** The same rule in TypeScript. */
  holds: (self: T) => boolean;
}

/** Adds the rules to a schema: as a zod refinement, and as x-kubernetes-validations for the CRD. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly Rule<z.output<S>>[]): S {
  return schema
    .superRefine((value, ctx) => {
      for (const { holds, message, fieldPath } of rules) {
        if (!holds(value))
          ctx.addIssue({ code: "custom", message, path: fieldPath?.split(".").slice(1) ?? [] });
      }
    })
    .meta({
      ...schema.meta(),
      "x-kubernetes-validations": rules.map(({ rule, message, fieldPath }) =>
        fieldPath === undefined ? { rule, message } : { rule, message, fieldPath },
      ),
    });
}

/**
 * Mechanisms that must never run on an unencrypted connection: PLAIN and LOGIN reveal the password, XOAUTH2
 * and OAUTHBEARER a replayable bearer token, and EXTERNAL rests on the TLS client certificate. A listener can
 * be encrypted exactly when the gateway has spec.tls (implicit-tls always, starttls and relay-port after
 * STARTTLS), so a gateway without it may offer only SCRAM-SHA-256 and CRAM-MD5.
 */
const needTLS = ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"] as const;
const oauthMechanisms = ["XOAUTH2", "OAUTHBEARER"] as const;
const celList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(", ")}]`;
const offers = (spec: SubmissionGatewaySpec, mechanisms: readonly string[]) =>
  spec.auth.mechanisms.some((m) => mechanisms.includes(m));

export const submissionGatewayRules = {
  listenerPortsUnique: {
    rule: "self.listeners.all(l, self.listeners.exists_one(m, m.port == l.port))",
    message: "listener ports must be unique",
    fieldPath: ".listeners",
    holds: (spec) => new Set(spec.listeners.map((l) => l.port)).size === spec.listeners.length,
  },
  metricsPortFree: {
    rule: "!self.listeners.exists(l, l.port == self.observability.metricsPort)",
    message: "observability.metricsPort must differ from every listener port",
    fieldPath: ".observability.metricsPort",
    holds: (spec) => !spec.listeners.some((l) => l.port === spec.observability.metricsPort),
  },
  implicitTLSNeedsCertificate: {
    rule: "has(self.tls) || !self.listeners.exists(l, l.mode == 'implicit-tls')",
    message: "implicit-tls listeners need a certificate: set spec.tls",
    fieldPath: ".listeners",
    holds: (spec) => spec.tls !== undefined || !spec.listeners.some((l) => l.mode === "implicit-tls"),
  },
  mechanismsNeedTLS: {
    rule: `has(self.tls) || !self.auth.mechanisms.exists(m, m in ${celList(needTLS)})`,
    message:
      "PLAIN, LOGIN, XOAUTH2, OAUTHBEARER and EXTERNAL are offered only over TLS and no listener can be " +
      "encrypted without spec.tls: set spec.tls, or offer only SCRAM-SHA-256 and CRAM-MD5",
    fieldPath: ".auth.mechanisms",
    holds: (spec) => spec.tls !== undefined || !offers(spec, needTLS),
  },
  externalNeedsClientCA: {
    rule: "has(self.auth.external) || !('EXTERNAL' in self.auth.mechanisms)",
    message: "EXTERNAL requires a client CA: set auth.external.clientCASecretRef",
    fieldPath: ".auth.mechanisms",
    holds: (spec) => spec.auth.external !== undefined || !offers(spec, ["EXTERNAL"]),
  },
  oauthNeedsIssuer: {
    rule: `has(self.auth.oauth) || !self.auth.mechanisms.exists(m, m in ${celList(oauthMechanisms)})`,
    message: "XOAUTH2 and OAUTHBEARER require a token issuer: set auth.oauth.issuer and auth.oauth.audience",
    fieldPath: ".auth.mechanisms",
    holds: (spec) => spec.auth.oauth !== undefined || !offers(spec, oauthMechanisms),
  },
  oneKeySetSource: {
    rule: "!has(self.auth.oauth) || has(self.auth.oauth.jwksURI) != has(self.auth.oauth.jwksSecretRef)",
    message: "set exactly one of auth.oauth.jwksURI and auth.oauth.jwksSecretRef",
    fieldPath: ".auth.oauth",
    holds: (spec) =>
      spec.auth.oauth === undefined ||
      (spec.auth.oauth.jwksURI === undefined) !== (spec.auth.oauth.jwksSecretRef === undefined),
  },
  relayCredentialsNeedTLS: {
    rule: "!has(self.relay.auth) || self.relay.tls.mode != 'none'",
    message: "relay.auth sends credentials upstream: relay.tls.mode must be starttls or implicit-tls",
    fieldPath: ".relay.auth",
    holds: (spec) => spec.relay.auth === undefined || spec.relay.tls.mode !== "none",
  },
  trafficPolicyNeedsExternalService: {
    rule: "!has(self.service.externalTrafficPolicy) || self.service.type != 'ClusterIP'",
    message: "service.externalTrafficPolicy applies only to NodePort and LoadBalancer services",
    fieldPath: ".service.externalTrafficPolicy",
    holds: (spec) => spec.service.externalTrafficPolicy === undefined || spec.service.type !== "ClusterIP",
  },
} satisfies Record<string, Rule<SubmissionGatewaySpec>>;

export const smtpUserRules = {
  oneCredentialSource: {
    rule: "[has(self.passwordSecretRef), has(self.passwordHashSecretRef), has(self.serviceAccountRef)].exists_one(x, x)",
    message:
      "set exactly one credential source: passwordSecretRef, passwordHashSecretRef or serviceAccountRef",
    holds: (spec) =>
      [spec.passwordSecretRef, spec.passwordHashSecretRef, spec.serviceAccountRef].filter(
        (s) => s !== undefined,
      ).length === 1,
  },
} satisfies Record<string, Rule<SmtpUserSpec>>;

/** Go's netip.ParsePrefix as the API server's isCIDR applies it: no zones, no IPv4-in-IPv6, no leading zeros. */
export const cidrRule: Rule<string> = {
  rule: "isCIDR(self)",
  message: "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32",
  holds: (value) => {
    const [address = "", bits, ...rest] = value.split("/");
    if (bits === undefined || rest.length > 0 || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
    if (isIPv4(address)) return Number(bits) <= 32;
    return isIPv6(address) && !/[.%]/.test(address) && Number(bits) <= 128;
  },
};

/** RFC 5321 §4.5.3.1.1, as the gateway's address policy applies it; the pattern cannot count a dot-atom. */
export const localPartLengthRule: Rule<string> = {
  rule: "self.indexOf('@') <= 64",
  message: "the part before '@' must be at most 64 characters",
  holds: (value) => value.indexOf("@") <= 64,
};

// The gateway's own bounds on a rate-limit window (gateway/policy/rate-limit-schema.ts): they cannot drift.
const { minValue: minWindow, maxValue: maxWindow } = RateLimitSchema.shape.windowSeconds.unwrap();
if (minWindow === null || maxWindow === null) throw new Error("the gateway's rate-limit window is unbounded");

/** A rate-limit window the gateway takes: whole seconds (the pattern's part) within its bounds. */
export const rateLimitWindowRule: Rule<string> = {
  rule: `duration(self) >= duration('${minWindow}s') && duration(self) <= duration('${maxWindow}s')`,
  message: `must be from ${secondsDuration(minWindow)} to ${secondsDuration(maxWindow)}`,
  holds: (value) => {
    const seconds = durationMilliseconds(value) / 1000;
    return seconds >= minWindow && seconds <= maxWindow;
  },
};

const fieldRules = {
  cidr: cidrRule,
  senderLocalPartLength: localPartLengthRule,
  rateLimitWindow: rateLimitWindowRule,
};

export type RuleName =
  | keyof typeof submissionGatewayRules
  | keyof typeof smtpUserRules
  | keyof typeof fieldRules;

/** Every rule by name; rule-cases.ts has a case for each. */
export const allRules: Record<RuleName, Rule<never>> = {
  ...submissionGatewayRules,
  ...smtpUserRules,
  ...fieldRules,
};
