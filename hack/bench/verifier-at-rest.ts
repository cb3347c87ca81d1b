// Shows what each server keeps at rest for the benchmark user, without the salt and hash: the
// connection-per-message targets only count while both keep argon2id at the same cost, at least
// OWASP's minimum — a cheaper hash on one side would make its logins cheaper, not its design better.
import { parsePasswordHash } from "../../gateway/credentials/password-hash.ts";

export interface VerifierAtRest {
  /** As the gateway itself classifies the hash; undefined when it is no scheme the gateway knows (or
   *  one below the minimum cost the gateway accepts). */
  scheme: string | undefined;
  /** Scheme and cost parameters, e.g. `argon2id m=19456,t=2,p=1`, in one form for both servers. */
  cost: string | undefined;
  /** The hash up to its salt, e.g. `$argon2id$v=19$m=19456,t=2,p=1$`: scheme and cost, nothing secret. */
  prefix: string;
}

export function describeVerifier(stored: string): VerifierAtRest {
  let scheme: string | undefined;
  let cost: string | undefined;
  try {
    ({ scheme, cost } = parsePasswordHash(stored));
  } catch {
    scheme = undefined;
  }
  // Salt and hash are the last two $-separated fields of every crypt-style string.
  const fields = stored.split("$");
  const prefix = fields.length > 3 ? `${fields.slice(0, -2).join("$")}$` : "(not a crypt-style hash)";
  return { scheme, cost, prefix };
}

/** Both servers keep argon2id at the same cost, which the gateway accepts (OWASP's minimum or more). */
export function sameArgon2idCost(postern: VerifierAtRest, anchor: VerifierAtRest): boolean {
  return postern.scheme === "argon2id" && anchor.scheme === "argon2id" && postern.cost === anchor.cost;
}

/** The stored password hash of `username` in a Postern users.yaml (already parsed). */
export function posternStoredHash(usersFile: unknown, username: string): string | undefined {
  const users = (usersFile as { users?: { username?: string; verifiers?: { password?: unknown } }[] })?.users;
  const password = users?.find((u) => u.username === username)?.verifiers?.password;
  return typeof password === "string" ? password : undefined;
}

/** The stored hash of `username` in a Dovecot passwd-file (`user:{SCHEME}hash[:...]`). */
export function passwdFileStoredHash(text: string, username: string): string | undefined {
  for (const line of text.split("\n")) {
    const [user, hash] = line.split(":");
    if (user === username && hash) return hash;
  }
  return undefined;
}
