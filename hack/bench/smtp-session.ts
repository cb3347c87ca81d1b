// One client SMTP session of the load generator, as promises over nodemailer's SMTPConnection:
// connect (greeting, EHLO, STARTTLS, EHLO), AUTH PLAIN, then messages. Any failure rejects with the
// server's reply line when there is one, so the load generator can count and print it.
import { createSecureContext } from "node:tls";
import SMTPConnection from "nodemailer/lib/smtp-connection";

// One TLS context for every connection: without it each STARTTLS builds a fresh context (loading the
// default CA store), a cost in the load generator that would take CPU from the server under test.
const TLS_CONTEXT = createSecureContext();

export interface Target {
  host: string;
  port: number;
}

/** `host:port`, or `[v6-address]:port`. */
export function parseTarget(text: string): Target {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match?.[1] || !(port >= 1 && port <= 65535)) throw new Error(`${text}: expected HOST:PORT`);
  return { host: match[1].replace(/^\[(.*)\]$/, "$1"), port };
}

export interface Credentials {
  user: string;
  pass: string;
}

export interface SessionOptions {
  /** For connecting and for the greeting. */
  timeoutMs: number;
  /** Inactivity after which the client gives up on the connection; defaults to `timeoutMs`. */
  idleTimeoutMs?: number | undefined;
  /** The source address to connect from. */
  localAddress?: string | undefined;
}

/** What a failure is counted as: the server's reply when it sent one, else nodemailer's error code. */
export function errorText(err: unknown): string {
  const e = err as { response?: unknown; code?: unknown; message?: unknown };
  if (typeof e.response === "string" && e.response) return e.response;
  return `${typeof e.code === "string" ? e.code : "ERROR"}: ${String(e.message ?? err)}`;
}

export class SmtpSession {
  readonly #connection: SMTPConnection;
  /** Rejects the operation in flight when the connection fails outside a command's callback. */
  #abort: ((err: Error) => void) | undefined;
  #closed = false;

  private constructor(connection: SMTPConnection) {
    this.#connection = connection;
    connection.on("error", (err: Error) => this.#abort?.(err));
    connection.on("end", () => {
      this.#closed = true;
      this.#abort?.(Object.assign(new Error("connection closed by the server"), { code: "ECONNECTION" }));
    });
  }

  /** Connects with STARTTLS (the certificate is not verified: both servers use self-signed ones). */
  static async open(target: Target, options: SessionOptions): Promise<SmtpSession> {
    const session = new SmtpSession(
      new SMTPConnection({
        host: target.host,
        port: target.port,
        ...(options.localAddress && { localAddress: options.localAddress }),
        requireTLS: true,
        tls: { rejectUnauthorized: false, secureContext: TLS_CONTEXT },
        name: "loadgen.example",
        connectionTimeout: options.timeoutMs,
        greetingTimeout: options.timeoutMs,
        socketTimeout: options.idleTimeoutMs ?? options.timeoutMs,
        logger: false,
      }),
    );
    try {
      await session.#run<void>((done) => session.#connection.connect(() => done(null)));
    } catch (err) {
      session.close();
      throw err;
    }
    return session;
  }

  get closed(): boolean {
    return this.#closed;
  }

  login(credentials: Credentials): Promise<void> {
    return this.#run<void>((done) =>
      this.#connection.login({ method: "PLAIN", user: credentials.user, pass: credentials.pass }, (err) =>
        done(err),
      ),
    );
  }

  /** MAIL, RCPT, DATA; resolves with the server's final reply (2xx), rejects on anything else. */
  send(from: string, to: string, message: Buffer): Promise<string> {
    return this.#run<string>((done) =>
      this.#connection.send({ from, to: [to] }, message, (err, info) => done(err, info?.response)),
    );
  }

  /** QUIT, then waits until the connection is closed. */
  quit(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#connection.once("end", () => resolve());
      this.#connection.quit();
    });
  }

  close(): void {
    this.#connection.close();
  }

  #run<T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        this.#abort = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.#abort = (err) => finish(err);
      start(finish);
    });
  }
}
