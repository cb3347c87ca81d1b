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
  /** Advertised in the RFC 7628 error object. */
  scope?: string;
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

  return {
    async verify(token, claimedUser, users) {
      if (!users.available) return UNAVAILABLE;
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["exp"],
        }));
      } catch (error) {
        // Anything jose rejects is the token's fault; anything else means we could not check it.
        return error instanceof errors.JOSEError ? invalid : UNAVAILABLE;
      }
      const username = claims[usernameClaim];
      if (typeof username !== "string" || username === "") return invalid;
      // An address the issuer itself says it has not verified identifies nobody.
      if (usernameClaim === "email" && claims.email_verified === false) return invalid;
      if (claimedUser !== "" && usernameKey(claimedUser) !== usernameKey(username)) return invalid;
      const user = users.lookup(username);
      return user && !user.disabled ? { kind: "ok", username: user.username } : invalid;
    },
  };
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
