// A real OAuth token issuer for tests: an ES256 key pair made with jose, its public JWKS served by a
// node:http server on 127.0.0.1, and JWT access tokens signed with it — what XOAUTH2 and OAUTHBEARER
// clients present. A second key the issuer never publishes signs forged tokens.
import { once } from "node:events";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export const TOKEN_AUDIENCE = "postern-test";

export interface TokenOptions {
  /** Default TOKEN_AUDIENCE. */
  audience?: string;
  /** Expiry in seconds since the epoch; default one hour from now. */
  expiresAt?: number;
  /** Sign with a key that is not in the published JWKS (same kid, so only the signature is wrong). */
  forged?: boolean;
  /** The `typ` header; default `at+jwt` (RFC 9068). */
  typ?: string;
  /** Issued-at in seconds since the epoch; default an hour before expiry. */
  issuedAt?: number;
}

export interface TokenIssuer {
  /** The `auth.oauth` block of gateway.yaml for this issuer. */
  readonly config: { issuer: string; audience: string; jwksUrl: string };
  /** A signed RFC 9068 access token whose `email` claim (the gateway's default username claim) is
   *  `email`, verified. */
  token(email: string, options?: TokenOptions, claims?: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

const ALG = "ES256";
const KID = "postern-test-key";

export async function startTokenIssuer(): Promise<TokenIssuer> {
  const trusted = await generateKeyPair(ALG);
  const forged = await generateKeyPair(ALG);
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(trusted.publicKey)), kid: KID, alg: ALG }] });
  const server = createServer((req, res) => {
    if (req.url === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("token issuer did not bind");
  const base = `http://127.0.0.1:${address.port}`;
  const issuer = `${base}/`;

  return {
    config: { issuer, audience: TOKEN_AUDIENCE, jwksUrl: `${base}/jwks` },
    token(email, options = {}, claims = {}) {
      const expiresAt = options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600;
      return new SignJWT({ email, email_verified: true, ...claims })
        .setProtectedHeader({ alg: ALG, kid: KID, typ: options.typ ?? "at+jwt" })
        .setIssuer(issuer)
        .setAudience(options.audience ?? TOKEN_AUDIENCE)
        .setSubject(email)
        .setIssuedAt(options.issuedAt ?? expiresAt - 3600)
        .setExpirationTime(expiresAt)
        .sign(options.forged ? forged.privateKey : trusted.privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
