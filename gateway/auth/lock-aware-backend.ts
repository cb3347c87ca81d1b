// A SaslBackend that never checks a secret for a user who is locked out. Without it, a locked user's
// password could still be guessed at full speed (a remembered right password answers faster than a
// wrong one) and every guess would cost an argon2id. A locked user's PLAIN/LOGIN is invalid at once,
// SCRAM gets the user's salt with keys no proof can match, CRAM-MD5 finds no secret.
import { unprovable } from "../credentials/decoy.ts";
import type { SaslBackend } from "../sasl/mechanism.ts";

export function lockAwareBackend(backend: SaslBackend, locked: (username: string) => boolean): SaslBackend {
  return {
    ...backend,
    verifyPassword: async (username, password) =>
      locked(username) ? { kind: "invalid" } : backend.verifyPassword(username, password),
    scramCredential: async (username) => {
      const lookup = await backend.scramCredential(username);
      if (lookup.kind !== "found" || !locked(username)) return lookup;
      return { kind: "found", credential: unprovable(lookup.credential) };
    },
    cramMd5Secret: async (username) =>
      locked(username) ? { kind: "missing" } : backend.cramMd5Secret(username),
  };
}
