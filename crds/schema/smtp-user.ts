// SmtpUser: one identity allowed to submit mail through a SubmissionGateway.
import { z } from "zod";
import { smtpUserRules, withRules } from "../cel.ts";
import type { KindSource } from "../crd.ts";
import {
  cidrList,
  localRef,
  observedStatus,
  posternObject,
  rateLimits,
  secretKeyRef,
  senderPattern,
  setList,
} from "./common.ts";
import { dateTime } from "./kubernetes.ts";
import { parser } from "./parse.ts";

const specFields = z.object({
  gatewayRef: localRef("SubmissionGateway").describe("The gateway this user submits mail through."),
  username: z
    .string()
    .min(1)
    .max(254)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them (CR/LF injection) is the point
    .regex(/^[^\x00-\x20\x7f]+$/)
    .optional()
    .describe(
      "SASL identity the user logs in with, e.g. alice@example.com; no spaces or control characters. Defaults " +
        "to metadata.name (always a valid identity, but never an address, as names cannot contain '@'). Must be " +
        "unique among the gateway's users.",
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
      "Addresses the user may send as: exact addresses, or *@domain for every address at a domain. The gateway's " +
        "policy.senderAlignment decides which senders are checked against it.",
    ),
  rateLimits: rateLimits()
    .optional()
    .describe("Overrides the gateway's policy.defaultRateLimits, field by field."),
  allowedSourceRanges: cidrList
    .optional()
    .describe("Client addresses the user may log in from; unset allows any."),
  disabled: z
    .boolean()
    .default(false)
    .describe("Refuse the user's logins, exactly like a wrong password, without deleting it."),
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

/** The SASL identity the user logs in with (the API server cannot default a field from metadata.name). */
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
