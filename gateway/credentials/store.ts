// The credential store: answers the secret questions of the SASL mechanisms from one parsed credentials
// file. Construction only indexes the parsed file (no hashing), so a hot reload is "build a new store,
// swap the reference"; the verified-credential cache is process-wide and outlives the swap.
import type { RateLimit } from "../policy/rate-limit-schema.ts";
import type { CramMd5Lookup, PasswordVerdict, ScramLookup } from "../sasl/mechanism.ts";
import { decoyPasswordHash, decoyScramCredential, unprovable } from "./decoy.ts";
import { FailureTiming } from "./failure-timing.ts";
import { type PasswordHash, verifyPasswordHash } from "./password-hash.ts";
import { SCRAM_MIN_ITERATIONS } from "./scram-credential.ts";
import { type UserEntry, type UsersFile, usernameKey } from "./users-file.ts";
import { VerifiedCache } from "./verified-cache.ts";

/** What policy needs to know about a user: no verifiers. */
export interface UserProfile {
  username: string;
  disabled: boolean;
  senders: readonly string[];
  authorizeFor: readonly string[];
  allowedCidrs: readonly string[];
  rateLimit?: RateLimit | undefined;
}

export interface CredentialStoreOptions {
  /** Defaults to one cache shared by every store in the process, so reloads keep it warm. */
  cache?: VerifiedCache;
  /** Key for decoy SCRAM salts (auth.scramDecoyKeyFile); defaults to a per-process random one. */
  decoyKey?: Buffer;
  /** Defaults to one process-wide record of check durations, so reloads keep what it measured. */
  timing?: FailureTiming;
}

// Far beyond any real password; bounds the work an attacker can make SHA512-CRYPT do per attempt (its
// cost grows with the password's length). Refused before any lookup, so it says nothing about the user.
export const MAX_PASSWORD_BYTES = 1024;

const INVALID: PasswordVerdict = { kind: "invalid" };
const UNAVAILABLE = { kind: "unavailable" } as const;
const processCache = new VerifiedCache();
const processTiming = new FailureTiming();

export class CredentialStore {
  readonly #users: ReadonlyMap<string, UserEntry>;
  readonly #cache: VerifiedCache;
  readonly #decoyIterations: number;
  readonly #decoyKey: Buffer | undefined;
  readonly #timing: FailureTiming;
  /** One hash of each cost the file holds: what a failure's time must not tell apart. */
  readonly #costs: readonly PasswordHash[];
  #available = true;

  constructor(file: UsersFile, options: CredentialStoreOptions = {}) {
    this.#users = new Map(file.users.map((user) => [usernameKey(user.username), user]));
    this.#cache = options.cache ?? processCache;
    this.#timing = options.timing ?? processTiming;
    const costs = new Map<string, PasswordHash>();
    for (const { verifiers } of file.users) {
      if (verifiers.password) costs.set(verifiers.password.cost, verifiers.password);
    }
    this.#costs = [...costs.values()];
    this.#decoyIterations = mostCommonIterations(file.users);
    this.#decoyKey = options.decoyKey;
  }

  /** A store that answers `unavailable` to everything (→ 454): the credentials file was never loaded. */
  static unavailable(): CredentialStore {
    const store = new CredentialStore({ users: [] });
    store.#available = false;
    return store;
  }

  get available(): boolean {
    return this.#available;
  }

  /** How many users the file defines (for the users-loaded gauge). */
  get size(): number {
    return this.#users.size;
  }

  /** The user's record for policy, disabled users included; undefined when unknown or unavailable. */
  lookup(username: string): UserProfile | undefined {
    const user = this.#users.get(usernameKey(username));
    if (!user) return undefined;
    const { username: canonical, disabled, senders, authorizeFor, allowedCidrs, rateLimit } = user;
    return {
      username: canonical,
      disabled,
      senders,
      authorizeFor,
      allowedCidrs,
      ...(rateLimit ? { rateLimit } : {}),
    };
  }

  /**
   * Unknown users, users without a password hash and disabled users all cost one full hash
   * verification, like a wrong password, and get the same `invalid` at the same time: every failure is
   * answered after the floor of FailureTiming, whichever hash (or the decoy) was checked.
   */
  async verifyPassword(username: string, password: string): Promise<PasswordVerdict> {
    if (!this.#available) return UNAVAILABLE;
    // Says nothing about the user, so it needs no padding (and must not cost a hash).
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return INVALID;
    const decoy = await decoyPasswordHash();
    const padding = await this.#timing.begin([decoy, ...this.#costs]);
    const verdict = await this.#check(username, password, decoy);
    if (verdict.kind === "invalid") await padding.pad();
    return verdict;
  }

  async #check(username: string, password: string, decoy: PasswordHash): Promise<PasswordVerdict> {
    const user = this.#users.get(usernameKey(username));
    const hash = user?.verifiers.password;
    const slowCheck = (h: PasswordHash) => this.#timing.measure(h, () => verifyPasswordHash(h, password));
    if (!user || !hash) {
      await slowCheck(decoy);
      return INVALID;
    }
    // Disabled users bypass the cache so a remembered right password is not answered faster.
    const valid = user.disabled
      ? await slowCheck(hash)
      : await this.#cache.verify(usernameKey(user.username), hash.stored, password, () => slowCheck(hash));
    return valid && !user.disabled ? { kind: "ok", username: user.username } : INVALID;
  }

  /** Unknown users (and users without SCRAM) get a decoy; disabled users their real salt with keys no
   *  proof can match, so the exchange always runs to the proof check. */
  async scramCredential(username: string): Promise<ScramLookup> {
    if (!this.#available) return UNAVAILABLE;
    const user = this.#users.get(usernameKey(username));
    const credential = user?.verifiers.scramSha256;
    if (!user || !credential) {
      return {
        kind: "found",
        credential: decoyScramCredential(username, this.#decoyIterations, this.#decoyKey),
      };
    }
    return { kind: "found", credential: user.disabled ? unprovable(credential) : credential };
  }

  async cramMd5Secret(username: string): Promise<CramMd5Lookup> {
    if (!this.#available) return UNAVAILABLE;
    const user = this.#users.get(usernameKey(username));
    const secret = user?.verifiers.cramMd5;
    return user && !user.disabled && secret ? { kind: "found", secret } : { kind: "missing" };
  }

  /** Whether enabled user `authcid` may act as `authzid`: itself, or a name on its authorizeFor list. */
  mayAuthorizeAs(authcid: string, authzid: string): boolean {
    const user = this.#users.get(usernameKey(authcid));
    if (!user || user.disabled) return false;
    const wanted = usernameKey(authzid);
    return (
      wanted === usernameKey(user.username) || user.authorizeFor.some((name) => usernameKey(name) === wanted)
    );
  }
}

/** Decoys use the iteration count most real users have, so a decoy does not stand out by it. */
function mostCommonIterations(users: readonly UserEntry[]): number {
  const counts = new Map<number, number>();
  for (const user of users) {
    const iterations = user.verifiers.scramSha256?.iterations;
    if (iterations !== undefined) counts.set(iterations, (counts.get(iterations) ?? 0) + 1);
  }
  let best = SCRAM_MIN_ITERATIONS;
  let bestCount = 0;
  for (const [iterations, count] of counts) {
    if (count > bestCount) [best, bestCount] = [iterations, count];
  }
  return best;
}
