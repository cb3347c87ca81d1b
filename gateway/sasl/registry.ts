// The mechanisms the gateway knows, and which of them EHLO offers on a given connection.
import { cramMd5 } from "./cram-md5.ts";
import { external } from "./external.ts";
import { login } from "./login.ts";
import type { MechanismName, SaslMechanism } from "./mechanism.ts";
import { oauthbearer } from "./oauthbearer.ts";
import { plain } from "./plain.ts";
import { scramSha256 } from "./scram-sha-256.ts";
import { xoauth2 } from "./xoauth2.ts";

export const MECHANISMS: Readonly<Record<MechanismName, SaslMechanism>> = {
  PLAIN: plain,
  LOGIN: login,
  "CRAM-MD5": cramMd5,
  "SCRAM-SHA-256": scramSha256,
  XOAUTH2: xoauth2,
  OAUTHBEARER: oauthbearer,
  EXTERNAL: external,
};

/** The mechanism an `AUTH` command names (mechanism names are case-insensitive in SMTP). */
export function findMechanism(name: string): SaslMechanism | undefined {
  const upper = name.toUpperCase();
  return Object.hasOwn(MECHANISMS, upper) ? MECHANISMS[upper as MechanismName] : undefined;
}

/**
 * What EHLO advertises, in the configured order: mechanisms that send a password or bearer token in
 * the clear only over TLS, EXTERNAL only with a verified client certificate.
 */
export function offeredMechanisms(
  enabled: readonly MechanismName[],
  ctx: { secure: boolean; hasClientCertificate: boolean },
): MechanismName[] {
  return [...new Set(enabled)].filter((name) =>
    name === "EXTERNAL" ? ctx.hasClientCertificate : ctx.secure || !MECHANISMS[name].plaintext,
  );
}
