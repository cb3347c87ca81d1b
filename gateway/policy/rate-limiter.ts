// Sliding-window send limits per user. A message is recorded when its transaction starts (so
// parallel transactions cannot all slip under the limit) and forgotten again if it is not
// delivered, so a refused or failed message never uses up a user's allowance. Counts are per gateway process: with N replicas
// a user can send up to N times the limit (documented; a shared store would cost a network hop on
// every message).
import type { RateLimit } from "./rate-limit-schema.ts";

export interface Usage {
  at: number;
  recipients: number;
}

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Bounded so a flood of distinct users cannot grow memory without limit. */
const MAX_USERS = 100_000;

export class RateLimiter {
  readonly #usage = new Map<string, Usage[]>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #window(user: string, limit: RateLimit): Usage[] {
    const since = this.#now() - limit.windowSeconds * 1000;
    const kept = (this.#usage.get(user) ?? []).filter((u) => u.at > since);
    if (kept.length > 0) this.#usage.set(user, kept);
    else this.#usage.delete(user);
    return kept;
  }

  #refusal(window: Usage[], limit: RateLimit): RateVerdict {
    const oldest = window[0]?.at ?? this.#now();
    const retryAfterSeconds = Math.max(
      1,
      Math.ceil((oldest + limit.windowSeconds * 1000 - this.#now()) / 1000),
    );
    return { ok: false, retryAfterSeconds };
  }

  /** May `user` start another message? */
  checkMessage(user: string, limit: RateLimit): RateVerdict {
    if (limit.messages === undefined) return { ok: true };
    const window = this.#window(user, limit);
    return window.length < limit.messages ? { ok: true } : this.#refusal(window, limit);
  }

  /** May `user` add one more recipient, with `pending` already accepted in this transaction? */
  checkRecipient(user: string, limit: RateLimit, pending: number): RateVerdict {
    if (limit.recipients === undefined) return { ok: true };
    const window = this.#window(user, limit);
    const used = window.reduce((sum, u) => sum + u.recipients, 0);
    return used + pending < limit.recipients ? { ok: true } : this.#refusal(window, limit);
  }

  /** Records a message (growing `recipients` as they are accepted); returns it for `forget`. */
  record(user: string, recipients: number): Usage {
    if (!this.#usage.has(user) && this.#usage.size >= MAX_USERS) {
      const oldest = this.#usage.keys().next();
      if (!oldest.done) this.#usage.delete(oldest.value);
    }
    const list = this.#usage.get(user) ?? [];
    const usage = { at: this.#now(), recipients };
    list.push(usage);
    this.#usage.set(user, list);
    return usage;
  }

  /** Takes back a recorded message that was not delivered. */
  forget(user: string, usage: Usage): void {
    const list = this.#usage.get(user);
    const index = list?.indexOf(usage) ?? -1;
    if (list && index >= 0) list.splice(index, 1);
  }
}
