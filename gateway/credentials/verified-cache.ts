// Remembers recently verified (user, password) pairs so that a client that connects once per message
// does not pay a full argon2id for every AUTH with the password it already proved.
//
// Security argument:
// - What is kept: per user, HMAC-SHA-256(K, stored-hash ‖ 0x00 ‖ password) with K 32 random bytes that
//   exist only in this process's memory (never logged, never persisted, different in every pod). Files,
//   Secrets and backups hold only the argon2 hash, so nothing at rest gets weaker.
// - A memory dump yields K and the MACs of users who logged in within the TTL. With both, guessing a
//   password costs one HMAC instead of one argon2id, so for those users the dump is a fast offline
//   oracle that the argon2 hash alone is not. That is the price; it is bounded by the TTL (only users
//   active in the last minutes), by the LRU size, and by the fact that a dump of this process already
//   catches those same users' plaintext passwords in transit (SMTP buffers, strings awaiting GC).
// - No negative caching: a failed check stores nothing, so every wrong guess pays the full argon2id
//   (brute force stays as slow as without a cache), attackers cannot fill or churn the cache (only a
//   correct password creates an entry, one per user), and a repeated wrong guess is not answered
//   faster than a new one.
// - Bound to the verifier: the stored hash string is inside the MAC, so once a password is rotated
//   (new hash, new salt) the old password's entry can never match again — no invalidation on reload
//   needed, and the same password under two different users or salts never shares an entry.
// - Expired entries are erased (at most a minute late, on the next check) rather than left to the LRU,
//   so the TTL really bounds what a dump can hold.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from "node:crypto";

export interface VerifiedCacheOptions {
  /** Most users remembered at once; the least recently used is dropped first. */
  maxEntries?: number;
  /** How long a verification is trusted, from the slow check that created it (not extended by hits). */
  ttlMs?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
}

interface Entry {
  mac: Buffer;
  expiresAt: number;
}

export const DEFAULT_CACHE_TTL_MS = 15 * 60 * 1000;
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;
const SWEEP_INTERVAL_MS = 60 * 1000;

export class VerifiedCache {
  // A KeyObject, imported once: a raw Buffer key is re-imported on every HMAC.
  readonly #key = createSecretKey(randomBytes(32));
  // A Map iterates in insertion order; re-inserting on use makes the first key the least recently used.
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #nextSweep = 0;

  constructor(options: VerifiedCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    this.#ttlMs = options.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxEntries >= 1 && this.#ttlMs > 0))
      throw new RangeError("cache needs maxEntries >= 1 and ttlMs > 0");
  }

  /**
   * True when `password` matches `storedHash`: from the cache when this exact pair was verified within
   * the TTL, otherwise by `slowVerify` (the real hash check), whose success — and only success — is
   * remembered under `userKey`.
   */
  async verify(
    userKey: string,
    storedHash: string,
    password: string,
    slowVerify: () => Promise<boolean>,
  ): Promise<boolean> {
    this.#sweepExpired();
    const mac = createHmac("sha256", this.#key).update(storedHash).update("\0").update(password).digest();
    const entry = this.#entries.get(userKey);
    if (entry && entry.expiresAt > this.#now() && timingSafeEqual(entry.mac, mac)) {
      this.#entries.delete(userKey);
      this.#entries.set(userKey, entry);
      return true;
    }
    if (!(await slowVerify())) return false;
    this.#entries.delete(userKey);
    this.#entries.set(userKey, { mac, expiresAt: this.#now() + this.#ttlMs });
    const oldest = this.#entries.keys().next();
    if (this.#entries.size > this.#maxEntries && !oldest.done) this.#entries.delete(oldest.value);
    return true;
  }

  #sweepExpired(): void {
    const now = this.#now();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_INTERVAL_MS;
    for (const [userKey, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(userKey);
  }

  get size(): number {
    return this.#entries.size;
  }
}
