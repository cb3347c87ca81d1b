// An in-memory SaslBackend for the mechanism tests. It is a test double for the interface only: the
// real credential store and token verifier are tested on their own. It records what it vouched for,
// so property tests can check that a mechanism never reports a success the backend did not grant.
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { deriveScramCredential } from "../../credentials/scram-credential.ts";
import type { SaslBackend, SaslContext, ScramCredential } from "../mechanism.ts";

export interface FakeUser {
  password: string;
  /** What the backend returns on success (standing in for its canonicalisation); default: the login name. */
  canonical?: string;
  /** Whether the user has a CRAM-MD5 secret (the password itself). */
  cramMd5?: boolean;
  /** SCRAM salt; default: derived from the name. */
  scramSalt?: Buffer;
}

export interface FakeBackendOptions {
  /** Keyed by login name, matched exactly. */
  users?: Record<string, FakeUser>;
  /** Bearer token → the user it was issued to. */
  tokens?: Record<string, string>;
  /** Certificate fingerprint256 → user. */
  certificates?: Record<string, string>;
  /** Authenticated user → the other identities it may act as. */
  mayActAs?: Record<string, string[]>;
  /** Every lookup answers `unavailable`, as when the store or issuer is down. */
  unavailable?: boolean;
}

export interface FakeBackend extends SaslBackend {
  /** Identities the backend vouched for (password or token accepted, certificate mapped). */
  readonly vouched: Set<string>;
  /** `authcid→authzid` pairs mayAuthorizeAs allowed. */
  readonly allowed: Set<string>;
  /** Every claimedUser passed to verifyBearerToken, in order. */
  readonly bearerClaims: string[];
}

export const BEARER_ERROR = { status: "invalid_token", scope: "https://mail.example.test/" };
export const SCRAM_ITERATIONS = 4096;

export function fakeBackend(options: FakeBackendOptions = {}): FakeBackend {
  const { users = {}, tokens = {}, certificates = {}, mayActAs = {}, unavailable = false } = options;
  const scramCache = new Map<string, ScramCredential>();
  const vouched = new Set<string>();
  const allowed = new Set<string>();
  const bearerClaims: string[] = [];
  const userNamed = (name: string): FakeUser | undefined =>
    Object.hasOwn(users, name) ? users[name] : undefined;
  const vouch = (name: string): string => {
    vouched.add(name);
    return name;
  };

  return {
    vouched,
    allowed,
    bearerClaims,
    async verifyPassword(username, password) {
      if (unavailable) return { kind: "unavailable" };
      const user = userNamed(username);
      if (user === undefined || user.password !== password) return { kind: "invalid" };
      return { kind: "ok", username: vouch(user.canonical ?? username) };
    },
    async scramCredential(username) {
      if (unavailable) return { kind: "unavailable" };
      let credential = scramCache.get(username);
      if (credential === undefined) {
        const user = userNamed(username);
        const salt = user?.scramSalt ?? createHash("sha256").update(username).digest().subarray(0, 16);
        // Unknown users get a decoy derived from a password nobody knows, as the real store does.
        credential = deriveScramCredential(
          user?.password ?? `decoy ${Math.random()}`,
          salt,
          SCRAM_ITERATIONS,
        );
        scramCache.set(username, credential);
      }
      return { kind: "found", credential };
    },
    async cramMd5Secret(username) {
      if (unavailable) return { kind: "unavailable" };
      const user = userNamed(username);
      return user?.cramMd5 ? { kind: "found", secret: Buffer.from(user.password) } : { kind: "missing" };
    },
    async verifyBearerToken(token, claimedUser) {
      bearerClaims.push(claimedUser);
      if (unavailable) return { kind: "unavailable" };
      const owner = Object.hasOwn(tokens, token) ? tokens[token] : undefined;
      return owner === undefined
        ? { kind: "invalid", errorJson: BEARER_ERROR }
        : { kind: "ok", username: vouch(owner) };
    },
    certificateIdentity(certificate) {
      const fingerprint = certificate.fingerprint256;
      const owner = Object.hasOwn(certificates, fingerprint) ? certificates[fingerprint] : undefined;
      return owner === undefined ? undefined : vouch(owner);
    },
    mayAuthorizeAs(authcid, authzid) {
      const ok = (mayActAs[authcid] ?? []).includes(authzid);
      if (ok) allowed.add(`${authcid}→${authzid}`);
      return ok;
    },
  };
}

/** Just enough of a verified peer certificate for certificateIdentity. */
export function fakeCertificate(fingerprint256: string): PeerCertificate {
  return { fingerprint256 } as PeerCertificate;
}

export function fakeContext(overrides: Partial<SaslContext> = {}): SaslContext {
  return { secure: true, serverName: "mx.example.test", ...overrides };
}
