// Graceful shutdown (SIGTERM in a pod): readiness goes false so the Service stops routing here, new
// connections and new transactions get `421 4.3.2`, transactions already under way may finish
// until the grace period ends. Then clients still sending DATA get `421 4.3.2` (their message was
// never relayed, so their retry elsewhere cannot duplicate it), and messages already being relayed
// are waited for — closing those clients early would make them retry a message the upstream
// already holds.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { SMTPServer } from "smtp-server";
import { Replies } from "../smtp/replies.ts";

/** What drain needs to know about a connection (PosternConnection implements it). */
export interface DrainableConnection {
  inTransaction(): boolean;
  relaying(): boolean;
  refuse(reply: typeof Replies.shuttingDown): void;
}

export class Drain {
  draining = false;
  /** Sessions whose message is being handed to the upstream right now. */
  readonly relaying = new WeakSet<object>();

  async run(servers: readonly SMTPServer[], graceMs: number, logger: Logger): Promise<void> {
    this.draining = true;
    const connections = () => servers.flatMap((s) => [...s.connections] as unknown as DrainableConnection[]);
    const deadline = Date.now() + graceMs;
    logger.info({ open: connections().length, graceMs }, "draining");
    while (Date.now() < deadline && connections().some((c) => c.inTransaction())) await sleep(25);
    for (const c of connections()) if (!c.relaying()) c.refuse(Replies.shuttingDown);
    while (connections().some((c) => c.relaying())) await sleep(25);
    for (const c of connections()) c.refuse(Replies.shuttingDown);
  }
}
