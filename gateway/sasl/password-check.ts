// The end of PLAIN and LOGIN: both hand the backend a user name and a password.
import { authorize } from "./authorization.ts";
import { failure } from "./exchange.ts";
import type { SaslBackend, SaslStep } from "./mechanism.ts";

export async function checkPassword(
  backend: SaslBackend,
  authcid: string,
  password: string,
  authzid: string,
): Promise<SaslStep> {
  const verdict = await backend.verifyPassword(authcid, password);
  if (verdict.kind !== "ok") return failure(verdict.kind, authcid);
  return authorize(backend, verdict.username, authzid, authcid);
}
