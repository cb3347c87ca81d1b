// Postern's shared API vocabulary: references, rate limits, address patterns and the list helpers both
// kinds use. Every check here is one the CRD can express too (pattern, bounds, enum, CEL),
// so zod and the API server accept the same objects.
import { z } from "zod";
import { RateLimitSchema } from "../../gateway/policy/rate-limit-schema.ts";
import { cidrRule, localPartLengthRule, rateLimitWindowRule, withRules } from "../cel.ts";
import { durationText, secondsDuration } from "./duration.ts";
import { condition, objectMeta } from "./kubernetes.ts";

export const group = "postern.io";
export const version = "v1alpha1";

/** The envelope of a Postern object: apiVersion, kind, metadata, spec and the operator-written status. */
export function posternObject<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: K,
  spec: Spec,
  status: Status,
) {
  return z.object({
    apiVersion: z.literal(`${group}/${version}`),
    kind: z.literal(kind),
    metadata: objectMeta,
    spec,
    status: status.optional(),
  });
}

/** The status every Postern kind reports, plus the kind's own fields. */
export function observedStatus<S extends z.ZodRawShape>(conditionsText: string, shape: S) {
  return z.object({
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation the operator last acted on; behind it, the status is stale."),
    conditions: mapList(condition, "type", 16).optional().describe(conditionsText),
    ...shape,
  });
}

/** A DNS-1123 subdomain (at most 253 characters): the names of Secrets, ServiceAccounts and Postern objects. */
export const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const objectName = z.string().min(1).max(253).regex(dnsSubdomain);

/** `{ name }` of an object of kind `kind` in the object's own namespace. */
export function localRef(kind: string) {
  return z.object({ name: objectName.describe(`Name of the ${kind} in the same namespace.`) });
}

/** `{ name, key }` of one key of a Secret in the same namespace (core/v1 SecretKeySelector, minus `optional`). */
export function secretKeyRef(defaultKey: string) {
  return z.object({
    name: objectName.describe("Name of the Secret in the same namespace."),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/)
      .default(defaultKey)
      .describe("Key within the Secret's data."),
  });
}

export const port = z.int32().min(1).max(65535);

/** An IPv4 or IPv6 CIDR, checked by the API server's CEL `isCIDR`. */
export const cidr = withRules(z.string().max(49), [cidrRule]);

export const cidrList = z.array(cidr).max(64);

// The gateway's envelope address policy (gateway/policy/address.ts) in a form RE2 can run: a dot-atom local
// part without '%' or '!', one '@', and a domain of two or more labels or an IPv4 literal; ASCII only. Its
// lengths are maxLength and localPartLengthRule. crds/gateway-agreement.test.ts holds it to isValidMailbox.
const atext = "[A-Za-z0-9#$&'*+/=?^_`{|}~-]";
const label = "[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?";
const octet = "([01]?[0-9]?[0-9]|2[0-4][0-9]|25[0-5])";
const mailbox = new RegExp(
  `^${atext}+(\\.${atext}+)*@(${label}(\\.${label})+|\\[${octet}(\\.${octet}){3}\\])$`,
);

/**
 * What a message may claim as its sender: an exact address, or `*@domain` for any address at a domain
 * (itself an address the policy accepts, so one pattern covers both).
 */
export const senderPattern = withRules(z.string().max(254).regex(mailbox), [localPartLengthRule]);

/** A host name, an IPv4 address or an (unbracketed) IPv6 address. */
export const host = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$/,
  );

export function url(schemes: "https" | "http(s)") {
  return z
    .string()
    .max(2048)
    .regex(schemes === "https" ? /^https:\/\/[^\s/?#]+([/?#]\S*)?$/ : /^https?:\/\/[^\s/?#]+([/?#]\S*)?$/);
}

export const stringMap = z.record(z.string(), z.string());

/**
 * Sending limits over one sliding window, as the gateway counts them (gateway/policy/rate-limiter.ts):
 * gateway.yaml's policy.rateLimit and a user's rateLimit in the users file are rendered from it.
 */
export const rateLimit = z.object({
  messages: z
    .int32()
    .min(1)
    .optional()
    .describe(
      "Most messages the user may send within the window (messages not delivered do not count); past it, " +
        "MAIL FROM gets 451 4.7.1 until the oldest leaves the window. Unset: unlimited.",
    ),
  recipients: z
    .int32()
    .min(1)
    .optional()
    .describe(
      "Most recipients, summed over the user's messages within the window; past it, RCPT TO gets 451 4.7.1. " +
        "Unset: unlimited.",
    ),
  window: withRules(durationText({ wholeSeconds: true }), [rateLimitWindowRule])
    .default(secondsDuration(RateLimitSchema.shape.windowSeconds.parse(undefined)))
    .describe("Length of the sliding window, in whole seconds: e.g. 90s, 15m, 1h30m."),
});

/** Zod's side of a list the API server keeps unique (list-type map or set). */
function unique<T>(keyOf: (item: T) => unknown, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      if (seen.has(key))
        ctx.addIssue({ code: "custom", message: `duplicate ${what} ${JSON.stringify(key)}`, path: [index] });
      seen.add(key);
    });
  };
}

/** A list of objects merged by `key` on server-side apply (`x-kubernetes-list-type: map`). */
export function mapList<T extends z.ZodObject, K extends keyof z.output<T> & string>(
  item: T,
  key: K,
  maxItems: number,
) {
  return z
    .array(item)
    .max(maxItems)
    .superRefine(unique((entry: z.output<T>) => entry[key], key))
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key] });
}

/** A list of distinct scalars (`x-kubernetes-list-type: set`). */
export function setList<T extends z.ZodType<string>>(item: T, maxItems: number) {
  return z
    .array(item)
    .max(maxItems)
    .superRefine(unique((entry: string) => entry, "value"))
    .meta({ "x-kubernetes-list-type": "set" });
}
