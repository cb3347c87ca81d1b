// SmtpUser: one identity allowed to submit mail through a SubmissionGateway.
import { z } from "zod";
import { smtpUserRules, withRules } from "../cel.ts";
import type { KindSource } from "../crd.ts";
import {
  cidrList,
  localRef,
  observedStatus,
  posternObject,
  rateLimit,
  secretKeyRef,
  senderPattern,
  setList,
} from "./common.ts";
import { dateTime } from "./kubernetes.ts";
import { parser } from "./parse.ts";

// The users file's identity (gateway/credentials/users-file.ts): no character of JavaScript's \s and no
// control character. RE2's \s is ASCII only, so the classes are spelled out: JavaScript's \s is Unicode's
// separators (Z), five ASCII controls (in Cc) and U+FEFF; Cc is C0, DEL and C1. RE2 writes U+FEFF \x{FEFF},
// JavaScript \u{FEFF}: zod runs the one, the CRD carries the other. crds/gateway-agreement.test.ts and the
// cluster tests hold both to the users file.
const loginNameRE2 = String.raw`^[^\p{Cc}\p{Z}\x{FEFF}]+$`;

/** At most 320 characters (code points, as both zod and the API server count them), like the users file. */
const username = z
  .string()
  .max(320)
  .regex(new RegExp(loginNameRE2.replace(String.raw`\x{`, String.raw`\u{`), "u"))
  .meta({ pattern: loginNameRE2 });

const specFields = z.object({
  gatewayRef: localRef("SubmissionGateway").describe("The gateway this user submits mail through."),
  username: username
    .optional()
    .describe(
      "Name the user logs in with (the SASL authentication identity), e.g. alice@example.com: any characters " +
        "but whitespace (no-break spaces included) and control characters. Defaults to metadata.name, which " +
        "is always a valid login name but never an address, as Kubernetes names cannot contain '@': set " +
        "username for users who log in with their address. Unique among the gateway's users, compared " +
        "case-insensitively.",
    ),
  passwordSecretRef: secretKeyRef("password")
    .optional()
    .describe(
      "Secret key holding the password (e.g. a kubernetes.io/basic-auth Secret). The operator derives argon2id " +
        "and SCRAM-SHA-256 verifiers from it and gives the gateway only those (plus a CRAM-MD5 secret if the " +
        "gateway offers CRAM-MD5); a changed password takes effect without restarts.",
    ),
  passwordHashSecretRef: secretKeyRef("hash")
    .optional()
    .describe(
      "Secret key holding a Dovecot-style {SCHEME} hash ({ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT}), to migrate " +
        "an existing user base. A hash cannot yield SCRAM-SHA-256 or CRAM-MD5 secrets: such a user can log in " +
        "with PLAIN or LOGIN only.",
    ),
  serviceAccountRef: localRef("ServiceAccount")
    .optional()
    .describe(
      "Reserved for authenticating workloads by ServiceAccount token; accepted but not yet implemented (the " +
        "user is reported Ready=False with reason NotImplemented).",
    ),
  allowedSenders: setList(senderPattern, 256)
    .min(1)
    .describe(
      "Addresses the user may send as, compared case-insensitively: exact addresses, or *@domain for every " +
        "address at a domain. Only addresses the gateway takes in MAIL FROM: ASCII, no quoted local part, no " +
        "'%' or '!', and a domain of two or more labels or an IPv4 literal such as [192.0.2.1]. The gateway's " +
        "policy.senderAlignment decides which senders are checked against them.",
    ),
  rateLimit: rateLimit
    .optional()
    .describe(
      "Replaces the gateway's policy.rateLimit for this user as a whole: a limit left out here is unlimited, " +
        "not inherited, so {} exempts the user. Counted per gateway pod.",
    ),
  allowedSourceRanges: cidrList
    .optional()
    .describe("Client addresses the user may log in from; unset allows any."),
  disabled: z
    .boolean()
    .default(false)
    .describe(
      "Refuse the user's logins, exactly like a wrong password, without deleting it; a session already " +
        "logged in can send nothing more.",
    ),
});

export type SmtpUserSpec = z.output<typeof specFields>;

const status = observedStatus(
  "Ready: the user's verifiers are on its gateway and it can log in. When False, the reason says why: " +
    "SecretNotFound, InvalidCredentials (e.g. an unknown {SCHEME}), GatewayNotFound, NotSelected (the gateway's " +
    "userSelector excludes the user), DuplicateUsername, Disabled or NotImplemented.",
  {
    gateway: z.string().optional().describe("Name of the SubmissionGateway the user is bound to."),
    credentialLastChangedTime: dateTime
      .optional()
      .describe("When the operator last saw the user's credential change."),
  },
);

export const smtpUserSchema = posternObject(
  "SmtpUser",
  withRules(specFields, Object.values(smtpUserRules)).describe("Desired state of the user."),
  status.describe("Observed state of the user, written by the operator."),
);

export type SmtpUser = z.output<typeof smtpUserSchema>;
/** A manifest as a user writes it: defaulted fields may be left out. */
export type SmtpUserManifest = z.input<typeof smtpUserSchema>;

export const parseSmtpUser = parser(smtpUserSchema);

/**
 * The SASL identity the user logs in with: spec.username, else metadata.name (the API server cannot default
 * a field from another). A Kubernetes name is always a valid login name, since the users file refuses only
 * whitespace and control characters, but never an address: it cannot contain '@'.
 */
export function saslUsername(user: SmtpUser): string {
  return user.spec.username ?? user.metadata.name;
}

export const smtpUserKind: KindSource = {
  kind: "SmtpUser",
  plural: "smtpusers",
  shortNames: ["smtpuser"],
  description: "An SmtpUser is an identity allowed to submit mail through a SubmissionGateway.",
  schema: smtpUserSchema,
  printerColumns: [
    { name: "Gateway", type: "string", jsonPath: ".spec.gatewayRef.name", description: "The gateway." },
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether the user can log in.",
    },
    {
      name: "Senders",
      type: "string",
      jsonPath: ".spec.allowedSenders",
      description: "Addresses the user may send as.",
    },
    {
      name: "Age",
      type: "date",
      jsonPath: ".metadata.creationTimestamp",
      description: "Time since creation.",
    },
  ],
  selectableFields: [".spec.gatewayRef.name"],
};
