// Which SmtpUsers bind to a gateway, and for each one that does not, why. Pure: the caller passes the
// users that name the gateway (from the informer cache) and a Secret lookup. Validation happens here,
// per user, so one bad user is reported on that user and never keeps the others off the gateway.
import type { V1Secret } from "@kubernetes/client-node";
import { parseSmtpUser, type SmtpUser, saslUsername } from "../../crds/schema/smtp-user.ts";
import type { SubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { usernameKey } from "../../gateway/credentials/users-file.ts";
import { matchesSelector } from "../runtime/label-selector.ts";

export type BindingReason =
  | "Bound"
  | "Disabled"
  | "GatewayNotFound"
  | "GatewayInvalid"
  | "NotSelected"
  | "InvalidSpec"
  | "NotImplemented"
  | "SecretNotFound"
  | "DuplicateUsername";

export interface Verdict {
  reason: BindingReason;
  message: string;
}

/** Where a credential came from: identifies the Secret version without anything derived from it. */
export interface SourceFingerprint {
  secretUid: string;
  resourceVersion: string;
  key: string;
}

export type CredentialSource =
  | { kind: "password"; password: string; fingerprint: SourceFingerprint }
  | { kind: "hash"; hash: string; fingerprint: SourceFingerprint };

export interface BoundUser {
  /** namespace/name of the SmtpUser. */
  objectKey: string;
  user: SmtpUser;
  username: string;
  /** The gateway's identity key for the username (case and Unicode folded). */
  key: string;
  source: CredentialSource;
}

export interface Binding {
  bound: BoundUser[];
  /** One per user passed in, keyed namespace/name; bound users have Bound or Disabled. */
  verdicts: Map<string, Verdict>;
}

type SecretLookup = (name: string) => V1Secret | undefined;

const objectKeyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace}/${o.metadata?.name}`;

/** Older first; the name breaks ties, so every replica and every run pick the same owner of a name. */
function byAge(a: SmtpUser, b: SmtpUser): number {
  const ta = String(a.metadata.creationTimestamp ?? "");
  const tb = String(b.metadata.creationTimestamp ?? "");
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function readSource(user: SmtpUser, secrets: SecretLookup): CredentialSource | Verdict {
  const ref = user.spec.passwordSecretRef ?? user.spec.passwordHashSecretRef;
  if (!ref) {
    return { reason: "NotImplemented", message: "serviceAccountRef is reserved and not implemented yet" };
  }
  const secret = secrets(ref.name);
  const encoded = secret?.data?.[ref.key];
  if (!secret || encoded === undefined) {
    const what = secret ? `key ${ref.key} of Secret ${ref.name}` : `Secret ${ref.name}`;
    return { reason: "SecretNotFound", message: `${what} does not exist` };
  }
  const fingerprint = {
    secretUid: secret.metadata?.uid ?? "",
    resourceVersion: secret.metadata?.resourceVersion ?? "",
    key: ref.key,
  };
  const text = Buffer.from(encoded, "base64").toString("utf8");
  return user.spec.passwordSecretRef
    ? { kind: "password", password: text, fingerprint }
    : { kind: "hash", hash: text.trim(), fingerprint };
}

// Informers replace an object on every change, so a parse keyed by the object itself is a parse of
// that version: a large gateway's reconcile validates only the users that changed since the last.
const parsedUsers = new WeakMap<object, ReturnType<typeof parseSmtpUser>>();
function parseUser(raw: unknown): ReturnType<typeof parseSmtpUser> {
  if (typeof raw !== "object" || raw === null) return parseSmtpUser(raw);
  let parsed = parsedUsers.get(raw);
  if (!parsed) {
    parsed = parseSmtpUser(raw);
    parsedUsers.set(raw, parsed);
  }
  return parsed;
}

/**
 * Binds `users` (every SmtpUser whose spec.gatewayRef names this gateway) to `gateway`: undefined when
 * the gateway does not exist, a string when its spec is invalid.
 */
export function bindUsers(
  gateway: SubmissionGateway | string | undefined,
  users: readonly unknown[],
  secrets: SecretLookup,
): Binding {
  const verdicts = new Map<string, Verdict>();
  const candidates: SmtpUser[] = [];
  for (const raw of users) {
    const objectKey = objectKeyOf(raw as SmtpUser);
    const parsed = parseUser(raw);
    if (!parsed.ok) {
      verdicts.set(objectKey, { reason: "InvalidSpec", message: parsed.error });
    } else if (gateway === undefined) {
      const name = parsed.value.spec.gatewayRef.name;
      verdicts.set(objectKey, {
        reason: "GatewayNotFound",
        message: `SubmissionGateway ${name} does not exist`,
      });
    } else if (typeof gateway === "string") {
      verdicts.set(objectKey, {
        reason: "GatewayInvalid",
        message: `the gateway's spec is invalid: ${gateway}`,
      });
    } else if (!matchesSelector(gateway.spec.userSelector, parsed.value.metadata.labels ?? {})) {
      verdicts.set(objectKey, {
        reason: "NotSelected",
        message: "the gateway's userSelector excludes this user",
      });
    } else {
      candidates.push(parsed.value);
    }
  }

  // A username belongs to the oldest user claiming it, whatever the state of its Secret, so that ownership
  // never flips while a Secret is briefly missing.
  const owners = new Map<string, SmtpUser>();
  const bound: BoundUser[] = [];
  for (const user of candidates.sort(byAge)) {
    const objectKey = objectKeyOf(user);
    const username = saslUsername(user);
    const key = usernameKey(username);
    const owner = owners.get(key);
    if (owner) {
      verdicts.set(objectKey, {
        reason: "DuplicateUsername",
        message: `username ${JSON.stringify(username)} is already used by SmtpUser ${owner.metadata.name}`,
      });
      continue;
    }
    owners.set(key, user);
    const source = readSource(user, secrets);
    if ("reason" in source) {
      verdicts.set(objectKey, source);
      continue;
    }
    bound.push({ objectKey, user, username, key, source });
    verdicts.set(
      objectKey,
      user.spec.disabled
        ? { reason: "Disabled", message: "spec.disabled is true: logins are refused" }
        : { reason: "Bound", message: `bound to SubmissionGateway ${user.spec.gatewayRef.name}` },
    );
  }
  return { bound, verdicts };
}
