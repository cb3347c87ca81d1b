// Bearer tokens for XOAUTH2 and OAUTHBEARER (RFC 7628): a JWT access token signed by the configured
// issuer, checked against its JWKS with jose. The verifier outlives credential reloads (it keeps the
// JWKS cache), so the user directory to check against is passed on each call.

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { isLoopbackHost } from "../../config/loopback.ts";
import type { BearerVerdict } from "../../sasl/mechanism.ts";
import type { CredentialStore } from "../store.ts";
import { usernameKey } from "../users-file.ts";

export interface BearerConfig {
  issuer: string;
  audience: string | string[];
  /** The issuer's JWKS endpoint (https, or http on a loopback address); fetched and cached by jose. */
  jwksUrl?: string;
  /** A fixed key set instead of `jwksUrl`. */
  jwks?: JSONWebKeySet;
  /** The claim holding the user name: `email` (default), `sub`, `preferred_username`, ... */
  usernameClaim?: string;
  /** Space-separated scopes every token must carry; advertised in the RFC 7628 error object. */
  scope?: string;
  /** Accepted `typ` headers (RFC 9068: `at+jwt`, the default), compared as RFC 8725 §3.11 says. */
  tokenTypes?: readonly string[];
  /** Oldest token accepted, by its (then required) `iat`; default one hour. */
  maxTokenAgeSeconds?: number;
}

export interface BearerVerifier {
  verify(
    token: string,
    claimedUser: string,
    users: Pick<CredentialStore, "available" | "lookup">,
  ): Promise<BearerVerdict>;
}

// Asymmetric only: HS* would make the JWKS (public) material a signing key, and `none` is no signature.
const ALGORITHMS = ["RS256", "ES256", "EdDSA", "PS256"];
const CLOCK_TOLERANCE_SECONDS = 30;
const DEFAULT_TOKEN_TYPES = ["at+jwt"];
const DEFAULT_MAX_TOKEN_AGE_SECONDS = 3600;
const UNAVAILABLE = { kind: "unavailable" } as const;

/** Marks a failure to obtain the issuer's keys (network, HTTP status, bad JSON): not the token's fault. */
class KeySetUnavailable extends Error {}

export function createBearerVerifier(config: BearerConfig): BearerVerifier {
  const keys = keySet(config);
  const issuerBase = config.issuer.replace(/\/+$/, "");
  const invalid: BearerVerdict = {
    kind: "invalid",
    errorJson: {
      status: "invalid_token",
      ...(config.scope ? { scope: config.scope } : {}),
      "openid-configuration": `${issuerBase}/.well-known/openid-configuration`,
    },
  };
  const usernameClaim = config.usernameClaim ?? "email";
  const tokenTypes = new Set((config.tokenTypes ?? DEFAULT_TOKEN_TYPES).map(mediaType));
  const requiredScopes = scopeList(config.scope);

  return {
    async verify(token, claimedUser, users) {
      if (!users.available) return UNAVAILABLE;
      let claims: Record<string, unknown>;
      let typ: string | undefined;
      try {
        ({
          payload: claims,
          protectedHeader: { typ },
        } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["exp", "iat"],
          maxTokenAge: config.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS,
        }));
      } catch (error) {
        // Anything jose rejects is the token's fault; anything else means we could not check it.
        return error instanceof errors.JOSEError ? invalid : UNAVAILABLE;
      }
      // An ID token (typ JWT) or any other JWT the issuer signs is not an access token for us.
      if (typ === undefined || !tokenTypes.has(mediaType(typ))) return invalid;
      const granted = new Set([...scopeList(claims.scope), ...scopeList(claims.scp)]);
      if (!requiredScopes.every((scope) => granted.has(scope))) return invalid;
      const username = claims[usernameClaim];
      if (typeof username !== "string" || username === "") return invalid;
      // An address the issuer does not vouch for identifies nobody: only email_verified true counts.
      if (usernameClaim === "email" && claims.email_verified !== true) return invalid;
      if (claimedUser !== "" && usernameKey(claimedUser) !== usernameKey(username)) return invalid;
      const user = users.lookup(username);
      return user && !user.disabled ? { kind: "ok", username: user.username } : invalid;
    },
  };
}

/** RFC 8725 §3.11: `typ` is a media type, case-insensitive, "application/" optional. */
function mediaType(typ: string): string {
  return typ.toLowerCase().replace(/^application\//, "");
}

/** Scopes as RFC 9068 writes them (one space-separated string) or as some issuers do (an array, or
 *  Microsoft's `scp`). */
function scopeList(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter((s) => s !== "");
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
}

function keySet(config: BearerConfig): JWTVerifyGetKey {
  const { jwks, jwksUrl } = config;
  const exactlyOne = "bearer token verification needs exactly one of jwksUrl and jwks";
  if (jwks !== undefined) {
    if (jwksUrl !== undefined) throw new Error(exactlyOne);
    return createLocalJWKSet(jwks);
  }
  if (jwksUrl === undefined) throw new Error(exactlyOne);
  const url = new URL(jwksUrl);
  // Whoever can alter the key set in transit can mint tokens: plain http only to this host.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    throw new Error(`jwksUrl must use https (http only for loopback addresses): ${url.href}`);
  }
  const remote = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      // No key for the token's kid/alg (after jose's refetch) is the token's fault.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new KeySetUnavailable("JWKS unavailable", { cause: error });
    }
  };
}
