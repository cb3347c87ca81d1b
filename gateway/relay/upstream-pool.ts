// The Upstream of upstream-api.ts: a pool of command-level connections (upstream-client.ts), each
// held by one client transaction from MAIL FROM to the end of DATA. One user's transactions hold at
// most `perUserShare` of the pool at once, and a freed connection goes to the first waiting
// transaction whose user is under that share, so one busy user cannot starve the others. Files — the CA bundle and the
// upstream credentials — are read whenever a connection is opened, so a rotated password or a
// refreshed XOAUTH2 token is used from the next connection on without a restart.
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import type { UpstreamSchema } from "../config/schema.ts";
import type { BeginOptions, Upstream, UpstreamStep, UpstreamTransaction } from "./upstream-api.ts";
import {
  type ConnectionOptions,
  type Credentials,
  credentialsMayTravel,
  replyText,
  UpstreamConnection,
  UpstreamError,
  type UpstreamReply,
} from "./upstream-client.ts";
import { failureFromUpstreamError, failureFromUpstreamReply } from "./upstream-reply.ts";

export type UpstreamConfig = z.infer<typeof UpstreamSchema>;

/** Idle connections are closed after this long (well under Postfix's 300 s smtpd_timeout). */
const IDLE_CLOSE_MS = 30_000;

/** How a transaction hands its connection back: keep it, RSET it first, or drop it. */
type Release = (connection: UpstreamConnection, how: "reuse" | "reset" | "destroy") => void;

const failed = (err: unknown) => ({ ok: false as const, ...failureFromUpstreamError(err as UpstreamError) });
const refused = (reply: UpstreamReply) => ({
  ok: false as const,
  ...failureFromUpstreamReply({ code: reply.code, text: reply.lines.join(" ") }),
});
const positive = (reply: UpstreamReply) => reply.code >= 200 && reply.code < 300;

/** A Secret file's value; one trailing newline (as `echo` leaves) is not part of it. */
async function secretFile(path: string): Promise<string> {
  return (await readFile(path, "utf8")).replace(/\r?\n$/, "");
}

async function readCredentials(
  auth: NonNullable<UpstreamConfig["auth"]>,
  resolvePath: (p: string) => string,
): Promise<Credentials> {
  const secretPath = auth.mechanism === "XOAUTH2" ? auth.tokenFile : auth.passwordFile;
  try {
    return {
      mechanism: auth.mechanism,
      username: await secretFile(resolvePath(auth.usernameFile)),
      secret: await secretFile(resolvePath(secretPath as string)),
    };
  } catch (err) {
    // The path is named, never the content.
    throw new UpstreamError("EAUTH", `cannot read upstream credentials: ${(err as Error).message}`);
  }
}

class PooledTransaction implements UpstreamTransaction {
  #connection: UpstreamConnection;
  #release: Release;
  #state: "open" | "busy" | "done" = "open";

  constructor(connection: UpstreamConnection, release: Release) {
    this.#connection = connection;
    this.#release = release;
  }

  rcpt(address: string): Promise<UpstreamStep> {
    return this.#step((c) => c.rcpt(address), false);
  }

  data(message: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<UpstreamStep> {
    return this.#step((c) => c.data(message), true);
  }

  abort(): void {
    // A command in flight leaves the upstream in an unknown state: drop the connection.
    if (this.#state !== "done") this.#end(this.#state === "busy" ? "destroy" : "reset");
  }

  async #step(
    command: (c: UpstreamConnection) => Promise<UpstreamReply>,
    last: boolean,
  ): Promise<UpstreamStep> {
    if (this.#state !== "open")
      return failed(new UpstreamError("ECONNECTION", "upstream transaction is over"));
    this.#state = "busy";
    let reply: UpstreamReply;
    try {
      reply = await command(this.#connection);
    } catch (err) {
      this.#end("destroy");
      return failed(err);
    }
    // abort() may have run while the reply was on its way: the connection is gone already.
    if (this.#state !== "busy") return failed(new UpstreamError("ECONNECTION", "transaction aborted"));
    this.#state = "open";
    // After the final reply the upstream's transaction is over; after a refused DATA command it is
    // not, so anything but a 250 is followed by RSET before the connection is reused.
    if (reply.code === 421) this.#end("destroy");
    else if (last) this.#end(positive(reply) ? "reuse" : "reset");
    return positive(reply) ? { ok: true, response: replyText(reply) } : refused(reply);
  }

  #end(how: "reuse" | "reset" | "destroy"): void {
    if (this.#state === "done") return; // aborted while a command was in flight: released already
    this.#state = "done";
    this.#release(this.#connection, how);
  }
}

class ConnectionPool implements Upstream {
  readonly #config: UpstreamConfig;
  readonly #clientName: string;
  readonly #resolvePath: (p: string) => string;
  /** Most recently used last: reused first, so the others can reach their idle timeout. */
  readonly #idle: UpstreamConnection[] = [];
  readonly #idleTimers = new Map<UpstreamConnection, NodeJS.Timeout>();
  /** Transactions waiting for a connection, first come first served among users under their share. */
  readonly #waiters = new Map<() => void, string>();
  /** Connections each user's transactions hold now. */
  readonly #held = new Map<string, number>();
  readonly #perUser: number;
  /** Connections open, opening or held: never more than config.pool. */
  #slots = 0;
  #closing = false;
  #onDrained: (() => void) | undefined;
  readonly #drained = new Promise<void>((resolve) => {
    this.#onDrained = resolve;
  });

  constructor(config: UpstreamConfig, clientName: string, resolvePath: (p: string) => string) {
    if (config.auth && !credentialsMayTravel(config.tls, config.host)) {
      throw new Error("upstream.auth needs upstream.tls starttls or implicit (or a loopback upstream)");
    }
    this.#config = config;
    this.#perUser = perUserConnections(config);
    this.#clientName = clientName;
    this.#resolvePath = resolvePath;
  }

  async begin(from: string, options: BeginOptions) {
    const { owner } = options;
    const attempt = (c: UpstreamConnection) =>
      c.mail(from, options.size, options.body).catch((err: unknown) => err as Error);
    let connection: UpstreamConnection;
    let reused: boolean;
    try {
      ({ connection, reused } = await this.#acquire(owner));
    } catch (err) {
      return failed(err);
    }
    this.#hold(owner, 1);
    const release: Release = (c, how) => {
      this.#hold(owner, -1);
      this.#release(c, how);
    };
    let reply = await attempt(connection);
    if (reused && (reply instanceof Error || reply.code === 421)) {
      // The upstream dropped (or is dropping) the pooled connection while it sat idle. It accepted
      // nothing yet, so one retry on a fresh connection (in the same slot) is safe.
      connection.destroy();
      try {
        connection = await this.#openInSlot();
      } catch (err) {
        this.#hold(owner, -1);
        return failed(err);
      }
      reply = await attempt(connection);
    }
    if (reply instanceof Error) {
      release(connection, "destroy");
      return failed(reply);
    }
    if (positive(reply)) return { ok: true as const, tx: new PooledTransaction(connection, release) };
    // No transaction was started: the connection is clean unless the upstream is closing it.
    release(connection, reply.code === 421 ? "destroy" : "reuse");
    return refused(reply);
  }

  close(): Promise<void> {
    this.#closing = true;
    for (const connection of this.#idle.splice(0)) this.#retire(connection);
    for (const wake of [...this.#waiters.keys()]) wake(); // waiting transactions fail now, not at their deadline
    if (this.#slots === 0) this.#onDrained?.();
    return this.#drained;
  }

  /** An idle connection, a new one, or — when all are busy, or `owner` holds its share — the next
   *  one released. */
  async #acquire(owner: string): Promise<{ connection: UpstreamConnection; reused: boolean }> {
    const deadline = Date.now() + this.#config.connectionTimeoutSeconds * 1000;
    for (;;) {
      if (this.#closing) throw new UpstreamError("ECONNECTION", "upstream configuration was replaced");
      if (this.#underShare(owner)) {
        const idle = this.#takeIdle();
        if (idle) return { connection: idle, reused: true };
        if (this.#slots < this.#config.pool) {
          this.#slots++;
          return { connection: await this.#openInSlot(), reused: false };
        }
      }
      await this.#slotFreed(owner, deadline);
    }
  }

  #underShare(owner: string): boolean {
    return (this.#held.get(owner) ?? 0) < this.#perUser;
  }

  #hold(owner: string, delta: 1 | -1): void {
    const held = (this.#held.get(owner) ?? 0) + delta;
    if (held > 0) this.#held.set(owner, held);
    else this.#held.delete(owner);
  }

  #takeIdle(): UpstreamConnection | undefined {
    for (let connection = this.#idle.pop(); connection; connection = this.#idle.pop()) {
      clearTimeout(this.#idleTimers.get(connection));
      this.#idleTimers.delete(connection);
      if (connection.alive) return connection;
      this.#freeSlot();
    }
    return undefined;
  }

  /** Opens a connection in a slot already counted; frees the slot if that fails. */
  async #openInSlot(): Promise<UpstreamConnection> {
    try {
      const connection = await UpstreamConnection.open(await this.#connectionOptions());
      // An idle connection that dies (upstream timeout or restart) gives its slot back at once.
      void connection.closed.then(() => this.#expire(connection));
      return connection;
    } catch (err) {
      this.#freeSlot();
      throw err;
    }
  }

  async #connectionOptions(): Promise<ConnectionOptions> {
    const c = this.#config;
    return {
      host: c.host,
      port: c.port,
      tls: c.tls,
      verifyCertificate: c.verifyCertificate,
      ca: c.caFile ? await readFile(this.#resolvePath(c.caFile)) : undefined,
      clientName: this.#clientName,
      credentials: c.auth ? await readCredentials(c.auth, this.#resolvePath) : undefined,
      connectionTimeoutMs: c.connectionTimeoutSeconds * 1000,
      socketTimeoutMs: c.socketTimeoutSeconds * 1000,
    };
  }

  #slotFreed(owner: string, deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.#waiters.delete(wake);
          reject(
            this.#underShare(owner)
              ? new UpstreamError(
                  "EBUSY",
                  `all ${this.#config.pool} upstream connections stayed busy (upstream.pool)`,
                )
              : new UpstreamError(
                  "EBUSY",
                  `${owner} held its share of ${this.#perUser} upstream connections (upstream.perUserShare)`,
                ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      this.#waiters.set(wake, owner);
    });
  }

  #release(connection: UpstreamConnection, how: "reuse" | "reset" | "destroy"): void {
    if (how === "destroy" || !connection.alive) {
      connection.destroy();
      this.#freeSlot();
    } else if (this.#closing) {
      this.#retire(connection); // QUIT ends an open upstream transaction as well
    } else if (how === "reset") {
      connection.rset().then(
        (reply) => this.#release(connection, reply.code === 250 ? "reuse" : "destroy"),
        () => this.#release(connection, "destroy"),
      );
    } else {
      this.#idle.push(connection);
      this.#idleTimers.set(
        connection,
        setTimeout(() => this.#expire(connection), IDLE_CLOSE_MS),
      );
      this.#wakeOne();
    }
  }

  /** Closes an idle connection if it still is one. */
  #expire(connection: UpstreamConnection): void {
    const index = this.#idle.indexOf(connection);
    if (index < 0) return;
    this.#idle.splice(index, 1);
    clearTimeout(this.#idleTimers.get(connection));
    this.#idleTimers.delete(connection);
    this.#retire(connection);
  }

  #retire(connection: UpstreamConnection): void {
    clearTimeout(this.#idleTimers.get(connection));
    this.#idleTimers.delete(connection);
    void connection.quit();
    this.#freeSlot();
  }

  #freeSlot(): void {
    this.#slots--;
    if (this.#closing && this.#slots === 0) this.#onDrained?.();
    this.#wakeOne();
  }

  /** Wakes the first waiting transaction that may take a connection now. */
  #wakeOne(): void {
    for (const [wake, owner] of this.#waiters) {
      if (this.#underShare(owner)) {
        wake();
        return;
      }
    }
  }
}

/** How many connections one user's transactions may hold at once: at least one. */
export function perUserConnections(config: Pick<UpstreamConfig, "pool" | "perUserShare">): number {
  return Math.max(1, Math.floor(config.pool * config.perUserShare));
}

/** The gateway's upstream; `clientName` is what it says in EHLO. */
export function createUpstream(
  config: UpstreamConfig,
  clientName: string,
  resolvePath: (p: string) => string = (p) => p,
): Upstream {
  return new ConnectionPool(config, clientName, resolvePath);
}
