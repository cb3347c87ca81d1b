// Graceful shutdown (SIGTERM in a pod), bounded by the grace period: readiness goes false so the
// Service stops routing here, new connections and new transactions get `421 4.3.2`, and transactions
// under way may finish — in two steps, so that no message is both relayed and retried:
//  1. until the hand-off deadline, clients may finish sending their messages;
//  2. then clients still sending get `421 4.3.2` and their upstream transaction is dropped before
//     its end of data (the upstream keeps nothing, so their retry elsewhere cannot duplicate it),
//     while messages already handed over whole wait for the upstream's reply, which the client
//     still gets — until the exit deadline, when everything left is closed.
// The time between the two deadlines is kept for upstream replies; a reply later than that is the
// one case where the outcome is unknown to the client (RFC 1047), and the grace period still wins.
// A connection in the middle of a STARTTLS handshake is waited for like a pending reply, so the
// client hears its 421 over TLS instead of a TLS EOF (a rollout's draining pod did the latter).
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { SMTPServer } from "smtp-server";
import { Replies } from "../smtp/replies.ts";

/** What drain needs to know about a connection (PosternConnection implements it). */
export interface DrainableConnection {
  inTransaction(): boolean;
  /** The message went upstream whole; the upstream's reply is pending. */
  relaying(): boolean;
  /** A STARTTLS handshake is under way: a 421 now would be cleartext inside it, and the close a
   *  bare TLS EOF to the client. Such a connection is refused on its first command after the
   *  handshake (the command filter), or closed at the exit deadline. */
  upgrading(): boolean;
  /** Sends the 421 and closes. */
  refuse(reply: typeof Replies.shuttingDown): void;
  /** Ends the transaction undelivered, then refuses. */
  stop(reply: typeof Replies.shuttingDown): void;
}

export interface DrainSchedule {
  /** Milliseconds after SIGTERM when clients still sending are stopped. */
  handOffMs: number;
  /** Milliseconds after SIGTERM when everything left is closed. */
  exitMs: number;
}

/**
 * When each step ends. Half the grace period, or the upstream's reply timeout if shorter, is kept
 * for upstream replies to messages handed over before the hand-off deadline; a little at the very
 * end is kept for closing sockets, so the process is gone within the grace period.
 */
export function drainSchedule(graceMs: number, upstreamReplyMs: number): DrainSchedule {
  const closing = Math.min(500, graceMs * 0.1);
  const exitMs = graceMs - closing;
  return { handOffMs: exitMs - Math.min(upstreamReplyMs, exitMs / 2), exitMs };
}

export class Drain {
  draining = false;

  async run(servers: readonly SMTPServer[], schedule: DrainSchedule, logger: Logger): Promise<void> {
    this.draining = true;
    const started = Date.now();
    const connections = () => servers.flatMap((s) => [...s.connections] as unknown as DrainableConnection[]);
    logger.info({ open: connections().length, ...schedule }, "draining");
    const until = async (ms: number, busy: (c: DrainableConnection) => boolean) => {
      while (Date.now() - started < ms && connections().some(busy)) await sleep(25);
    };
    await until(schedule.handOffMs, (c) => c.inTransaction());
    for (const c of connections()) if (!c.relaying() && !c.upgrading()) c.stop(Replies.shuttingDown);
    await until(schedule.exitMs, (c) => c.relaying() || c.upgrading());
    const late = connections().filter((c) => c.relaying()).length;
    if (late > 0) logger.warn({ late }, "upstream replies still pending at the end of the grace period");
    for (const c of connections()) c.stop(Replies.shuttingDown);
  }
}
