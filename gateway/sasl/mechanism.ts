// The one small interface every SASL mechanism implements (RFC 4422). A mechanism is a pure state
// machine over decoded client responses: it never touches a socket, never base64-decodes, and never
// decides SMTP reply codes. The AUTH command driver (gateway/smtp/auth-command.ts) does the wire
// work; the backend (gateway/credentials/) does the secret work. That split is what lets each
// mechanism be property-tested without a server.
import type { PeerCertificate } from "node:tls";

export const MECHANISM_NAMES = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "SCRAM-SHA-256",
  "XOAUTH2",
  "OAUTHBEARER",
  "EXTERNAL",
] as const;

export type MechanismName = (typeof MECHANISM_NAMES)[number];

/** What a mechanism may know about the connection it runs on. */
export interface SaslContext {
  /** True once the connection is TLS-protected (implicit TLS, or after STARTTLS). */
  secure: boolean;
  /** The server's host name, used where a mechanism puts it on the wire (CRAM-MD5 challenge). */
  serverName: string;
  /** The client's certificate, present only when it was verified against the configured client CA. */
  clientCertificate?: PeerCertificate | undefined;
}

/** Outcome of a password check. `unavailable` means the credential store cannot answer (→ 454). */
export type PasswordVerdict =
  | { kind: "ok"; username: string }
  | { kind: "invalid" }
  | { kind: "unavailable" };

/** RFC 5802/7677 server-side credential. For unknown users the backend returns a decoy so the
 *  exchange looks the same and fails only at the proof check (no user enumeration). */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export type ScramLookup = { kind: "found"; credential: ScramCredential } | { kind: "unavailable" };

/** The plaintext-equivalent CRAM-MD5 key. `missing` covers unknown users and users without one. */
export type CramMd5Lookup = { kind: "found"; secret: Buffer } | { kind: "missing" } | { kind: "unavailable" };

/** Bearer token verdict (XOAUTH2, OAUTHBEARER). `errorJson` is the RFC 7628 §3.2.2 error object. */
export type BearerVerdict =
  | { kind: "ok"; username: string }
  | { kind: "invalid"; errorJson: Record<string, string> }
  | { kind: "unavailable" };

/** Everything secret a mechanism needs, implemented by the credential store and token verifier. */
export interface SaslBackend {
  /** Constant-time password check; same cost for unknown users as for wrong passwords. */
  verifyPassword(username: string, password: string): Promise<PasswordVerdict>;
  scramCredential(username: string): Promise<ScramLookup>;
  cramMd5Secret(username: string): Promise<CramMd5Lookup>;
  /** Validates a bearer token; `claimedUser` is the user the client named (may be empty). */
  verifyBearerToken(token: string, claimedUser: string): Promise<BearerVerdict>;
  /** Maps a verified client certificate to a user name, or undefined when no user matches. */
  certificateIdentity(certificate: PeerCertificate): string | undefined;
  /** Whether `authcid` may act as the different authorization identity `authzid` (RFC 4422 §2). */
  mayAuthorizeAs(authcid: string, authzid: string): boolean;
}

/**
 * One step of an exchange:
 * - `challenge`: send `334 base64(data)` and feed the client's next line to `step`.
 * - `success`: authenticated as `username`; `finalData` (SCRAM's server-final message) is sent as
 *   a last `334` challenge whose (empty) answer precedes `235`.
 * - `failure`: `invalid` → 535, `malformed` → 501, `unavailable` → 454. `errorData` (the RFC 7628
 *   error JSON) is sent as a `334` challenge first; the client's answer then gets the failure reply.
 *   `username` (when known) is what brute-force accounting is keyed on.
 */
export type SaslStep =
  | { kind: "challenge"; data: Buffer }
  | { kind: "success"; username: string; authzid?: string | undefined; finalData?: Buffer | undefined }
  | {
      kind: "failure";
      reason: "invalid" | "malformed" | "unavailable";
      username?: string | undefined;
      errorData?: Buffer | undefined;
    };

/** A running exchange. The first call gets the initial response: `undefined` when the client sent
 *  none (`AUTH MECH`), an empty Buffer for `AUTH MECH =`. Later calls get each decoded response. */
export interface SaslExchange {
  step(response: Buffer | undefined): Promise<SaslStep>;
}

export interface SaslMechanism {
  readonly name: MechanismName;
  /** Puts a password (or its equivalent) on the wire in the clear: offered only over TLS. */
  readonly plaintext: boolean;
  start(context: SaslContext, backend: SaslBackend): SaslExchange;
}
