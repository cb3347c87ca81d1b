// What the gateway keeps about each client's open mail transaction, from MAIL FROM to the end of
// DATA (or RSET, a new EHLO, a refusal, a disconnect): whose it is, the sender patterns and alignment
// mode decided at MAIL FROM (so a policy reload mid-transaction cannot skip a check), the rate-limit
// reservation to take back if nothing is delivered, and how many transactions each user has open.
import type { SMTPServerSession } from "smtp-server";
import type { RateLimit } from "../policy/rate-limit-schema.ts";
import type { Usage } from "../policy/rate-limiter.ts";

export interface OpenTransaction {
  /** The canonical user name of the identity the mail is sent for. */
  user: string;
  patterns: readonly string[];
  alignment: "envelope" | "header" | "both";
  /** The send limit in force for this transaction, and its reservation (grows with recipients). */
  limit?: RateLimit | undefined;
  usage?: Usage | undefined;
  /** Takes back the reservation; absent when no limit applies. */
  release?: (() => void) | undefined;
}

const open = new WeakMap<SMTPServerSession, OpenTransaction>();
const activeByUser = new Map<string, number>();

export function currentTransaction(session: SMTPServerSession): OpenTransaction | undefined {
  return open.get(session);
}

export function activeTransactions(user: string): number {
  return activeByUser.get(user) ?? 0;
}

export function startTransaction(session: SMTPServerSession, tx: OpenTransaction): void {
  endTransaction(session, false);
  open.set(session, tx);
  activeByUser.set(tx.user, activeTransactions(tx.user) + 1);
}

/** Ends the session's transaction, if any; an undelivered one gives its reservation back. */
export function endTransaction(session: SMTPServerSession, delivered: boolean): void {
  const tx = open.get(session);
  if (!tx) return;
  open.delete(session);
  const left = activeTransactions(tx.user) - 1;
  if (left > 0) activeByUser.set(tx.user, left);
  else activeByUser.delete(tx.user);
  if (!delivered) tx.release?.();
}
