// One SMTP connection to the upstream relay, driven command by command.
//
// Why not nodemailer: a client transaction must map onto the upstream's command by command (a RCPT
// the upstream refuses is refused to the client; the client's 250 after DATA is the upstream's
// 250). nodemailer's SMTPConnection only offers a whole-envelope send() — MAIL, every RCPT and DATA
// at once, carrying on with whichever recipients were accepted — and no well-kept npm library
// offers a pooled command-level SMTP client. So this is a small one: no pipelining, one command in
// flight, every reply read in full before the next command; STARTTLS, when configured, is required
// and never downgraded; credentials are sent only encrypted (or in plain over loopback).

import { isIP, connect as netConnect, type Socket } from "node:net";
import { TLSSocket, connect as tlsConnect } from "node:tls";
import { isLoopbackHost } from "../config/loopback.ts";
import { DataEncoder } from "./data-payload.ts";

export interface UpstreamReply {
  code: number;
  /** Each line's text after the code and separator. */
  lines: string[];
}

/** What `mail` answers, sending nothing, for 8-bit data to an upstream without 8BITMIME. */
const NO_8BITMIME: UpstreamReply = {
  code: 554,
  lines: ["5.6.3 8-bit message, but the relay does not accept 8BITMIME; send it 7-bit, MIME-encoded"],
};

/** `250 first line second line`: how a reply is shown in results and logs. */
export function replyText(reply: UpstreamReply): string {
  return `${reply.code} ${reply.lines.join(" ")}`.trim();
}

/** ETIMEDOUT: no answer in time; ECONNECTION: refused, reset or closed; ETLS: STARTTLS missing or
 *  the handshake/certificate failed; EAUTH: credentials refused or not sendable; EPROTOCOL: the
 *  upstream broke the protocol (or sent something while idle); EBUSY: no pooled connection free. */
export type UpstreamErrorCode = "ETIMEDOUT" | "ECONNECTION" | "ETLS" | "EAUTH" | "EPROTOCOL" | "EBUSY";

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  /** The upstream's refusal, when a set-up step (greeting, EHLO, STARTTLS, AUTH) was refused. */
  readonly responseCode: number | undefined;

  constructor(code: UpstreamErrorCode, message: string, reply?: UpstreamReply, cause?: unknown) {
    super(reply ? `${message}: ${replyText(reply).slice(0, 200)}` : message, { cause });
    this.code = code;
    this.responseCode = reply?.code;
  }
}

export interface Credentials {
  mechanism: "PLAIN" | "LOGIN" | "XOAUTH2";
  username: string;
  /** The password, or the XOAUTH2 access token. */
  secret: string;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  tls: "none" | "starttls" | "implicit";
  verifyCertificate: boolean;
  /** Extra trusted CA certificates (PEM). */
  ca?: Buffer | undefined;
  /** The name the gateway gives in EHLO. */
  clientName: string;
  credentials?: Credentials | undefined;
  /** TCP connect, TLS handshake and greeting, each. */
  connectionTimeoutMs: number;
  /** Each command's reply. */
  socketTimeoutMs: number;
}

/** Credentials go only over TLS, or in plain to a loopback upstream (a sidecar relay). */
export function credentialsMayTravel(tls: ConnectionOptions["tls"], host: string): boolean {
  return tls !== "none" || isLoopbackHost(host);
}

const REPLY_LINE = /^(\d{3})(?:([ -])(.*))?$/;
const MAX_REPLY_BYTES = 64 * 1024;
/** Envelope addresses go inside <...> on a command line: printable ASCII (SMTPUTF8 is not offered to
 *  clients), and nothing that could end the line or the brackets. */
const UNSAFE_ADDRESS = /[^\x20-\x7e]|[<>]/;

function transportError(err: NodeJS.ErrnoException): UpstreamError {
  // Node reports certificate trouble with OpenSSL's codes (CERT_*, *_CERT_*, ERR_TLS_*, ERR_SSL_*).
  const tls =
    /CERT|^ERR_TLS|^ERR_SSL|^UNABLE_TO/.test(err.code ?? "") || /certificate|SSL|TLS/i.test(err.message);
  return new UpstreamError(tls ? "ETLS" : "ECONNECTION", err.message, undefined, err);
}

/** Resolves with the socket once `ready` fires, or rejects on error or after `timeoutMs`. */
function established<T extends Socket>(socket: T, ready: string, timeoutMs: number, what: string) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError("ETIMEDOUT", `${what} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(transportError(err));
    };
    socket.once("error", onError);
  });
}

function tlsOptions(o: ConnectionOptions) {
  // SNI carries host names only (RFC 6066); certificate checks use `host` either way.
  return {
    host: o.host,
    ...(isIP(o.host) ? {} : { servername: o.host }),
    rejectUnauthorized: o.verifyCertificate,
    ...(o.ca ? { ca: o.ca } : {}),
  };
}

export class UpstreamConnection {
  #socket: Socket;
  #options: ConnectionOptions;
  #buffer = "";
  #pending:
    | { resolve: (r: UpstreamReply) => void; reject: (e: Error) => void; timeoutMs: number }
    | undefined;
  #error: UpstreamError | undefined;
  #extensions = new Map<string, string>();
  #onClosed!: () => void;
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed = new Promise<void>((resolve) => {
    this.#onClosed = resolve;
  });

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#attach(socket);
  }

  /** Connects, reads the greeting, says EHLO, upgrades with STARTTLS and authenticates as configured. */
  static async open(options: ConnectionOptions): Promise<UpstreamConnection> {
    const where = `connecting to ${options.host}:${options.port}`;
    const socket =
      options.tls === "implicit"
        ? await established(
            tlsConnect({ ...tlsOptions(options), port: options.port }),
            "secureConnect",
            options.connectionTimeoutMs,
            where,
          )
        : await established(
            netConnect({ host: options.host, port: options.port }),
            "connect",
            options.connectionTimeoutMs,
            where,
          );
    // One command or message part at a time, each awaited: Nagle's algorithm would hold a short
    // write (the end-of-data line after the message) until the previous segment's delayed ACK, some
    // 40 ms per message.
    socket.setNoDelay(true);
    const connection = new UpstreamConnection(socket, options);
    try {
      await connection.#handshake();
    } catch (err) {
      connection.destroy();
      throw err;
    }
    return connection;
  }

  /** Neither failed nor closed. */
  get alive(): boolean {
    return this.#error === undefined;
  }

  /** ESMTP keywords the upstream announced (upper case) and their parameters. */
  get extensions(): ReadonlyMap<string, string> {
    return this.#extensions;
  }

  async mail(from: string, size?: number, body?: "7BIT" | "8BITMIME"): Promise<UpstreamReply> {
    // RFC 6152 §3: 8-bit data goes only to a server that announced 8BITMIME. Without it there is no
    // conversion here, so the transaction is refused before anything is sent (the client may send
    // the message again 7-bit, MIME-encoded); BODY=7BIT needs no parameter where 8BITMIME is unknown.
    if (body === "8BITMIME" && !this.#extensions.has("8BITMIME")) return NO_8BITMIME;
    const sizeParam = size !== undefined && this.#extensions.has("SIZE") ? ` SIZE=${size}` : "";
    const bodyParam = body !== undefined && this.#extensions.has("8BITMIME") ? ` BODY=${body}` : "";
    return this.#command(`MAIL FROM:<${safeAddress(from)}>${sizeParam}${bodyParam}`);
  }

  async rcpt(to: string): Promise<UpstreamReply> {
    return this.#command(`RCPT TO:<${safeAddress(to)}>`);
  }

  /**
   * DATA, then (after 354) the message as `source` yields it, encoded on the way and written as fast
   * as the upstream reads it; resolves with the refusal of DATA or the final reply. The end-of-data
   * line goes out only after `source` ended normally: if it throws, the connection is dropped with
   * the message unfinished, so the upstream discards it, and the error is rethrown.
   */
  async data(source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<UpstreamReply> {
    const go = await this.#command("DATA");
    if (go.code !== 354) {
      if (go.code < 400) throw this.#fail(new UpstreamError("EPROTOCOL", "unexpected reply to DATA", go));
      return go;
    }
    const encoder = new DataEncoder();
    try {
      for await (const chunk of source) {
        const encoded = encoder.encode(chunk);
        if (encoded.length > 0) await this.#write(encoded);
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
    return this.#send(encoder.end());
  }

  rset(): Promise<UpstreamReply> {
    return this.#command("RSET");
  }

  noop(): Promise<UpstreamReply> {
    return this.#command("NOOP");
  }

  /** QUIT politely (briefly), then close. Never rejects. */
  async quit(): Promise<void> {
    if (this.alive && !this.#pending) {
      await this.#command("QUIT", Math.min(this.#options.socketTimeoutMs, 2000)).catch(() => undefined);
    }
    this.destroy();
  }

  /** Closes now; a command in flight fails with ECONNECTION. */
  destroy(): void {
    this.#fail(new UpstreamError("ECONNECTION", "connection closed by the gateway"));
  }

  async #handshake(): Promise<void> {
    const o = this.#options;
    const greeting = await this.#read(o.connectionTimeoutMs);
    if (greeting.code !== 220)
      throw new UpstreamError("ECONNECTION", "upstream refused the session", greeting);
    await this.#ehlo();
    if (o.tls === "starttls") {
      if (!this.#extensions.has("STARTTLS")) {
        throw new UpstreamError(
          "ETLS",
          "upstream does not offer STARTTLS (tls: starttls); not continuing in plaintext",
        );
      }
      const reply = await this.#command("STARTTLS");
      if (reply.code !== 220) throw new UpstreamError("ETLS", "upstream refused STARTTLS", reply);
      await this.#startTls();
      await this.#ehlo(); // RFC 3207 §4.2: forget what was learnt before TLS
    }
    if (o.credentials) await this.#authenticate(o.credentials);
  }

  async #ehlo(): Promise<void> {
    const reply = await this.#command(`EHLO ${this.#options.clientName}`);
    if (reply.code !== 250) throw new UpstreamError("ECONNECTION", "upstream refused EHLO", reply);
    this.#extensions = new Map(
      reply.lines.slice(1).map((line) => {
        // "AUTH=PLAIN LOGIN" is the pre-RFC 4954 spelling some servers still send.
        const [keyword = "", ...params] = line.trim().split(/[\s=]+/);
        return [keyword.toUpperCase(), params.join(" ")];
      }),
    );
  }

  async #startTls(): Promise<void> {
    // Bytes after the 220 would be an injected response (CVE-2011-0411's mirror image).
    if (this.#buffer.length > 0)
      throw new UpstreamError("EPROTOCOL", "upstream sent data after its STARTTLS reply");
    const plain = this.#socket;
    this.#detach(plain);
    plain.on("error", () => {}); // the TLS socket reports the failure
    const secure = tlsConnect({ ...tlsOptions(this.#options), socket: plain });
    this.#socket = secure;
    try {
      await established(secure, "secureConnect", this.#options.connectionTimeoutMs, "TLS handshake");
    } finally {
      if (!secure.encrypted) plain.destroy();
    }
    this.#attach(secure);
  }

  async #authenticate(c: Credentials): Promise<void> {
    if (
      !credentialsMayTravel(this.#options.tls, this.#options.host) ||
      (this.#options.tls !== "none" && !this.#encrypted())
    ) {
      throw new UpstreamError("EAUTH", "refusing to send upstream credentials without TLS");
    }
    const offered = (this.#extensions.get("AUTH") ?? "").toUpperCase().split(" ");
    if (!offered.includes(c.mechanism)) {
      throw new UpstreamError(
        "EAUTH",
        `upstream does not offer AUTH ${c.mechanism} (offers: ${offered.join(" ") || "none"})`,
      );
    }
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    let reply: UpstreamReply;
    if (c.mechanism === "PLAIN") {
      reply = await this.#command(`AUTH PLAIN ${b64(`\0${c.username}\0${c.secret}`)}`);
    } else if (c.mechanism === "LOGIN") {
      reply = await this.#command("AUTH LOGIN");
      if (reply.code === 334) reply = await this.#command(b64(c.username));
      if (reply.code === 334) reply = await this.#command(b64(c.secret));
    } else {
      // Google's XOAUTH2: user=...^Aauth=Bearer ...^A^A. A refusal comes as a 334 carrying a JSON
      // error, answered with an empty line to get the final 5xx.
      reply = await this.#command(
        `AUTH XOAUTH2 ${b64(`user=${c.username}\x01auth=Bearer ${c.secret}\x01\x01`)}`,
      );
      if (reply.code === 334) reply = await this.#command("");
    }
    if (reply.code !== 235) throw new UpstreamError("EAUTH", `upstream refused AUTH ${c.mechanism}`, reply);
  }

  #encrypted(): boolean {
    return this.#socket instanceof TLSSocket && this.#socket.encrypted;
  }

  #command(line: string, timeoutMs = this.#options.socketTimeoutMs): Promise<UpstreamReply> {
    return this.#send(Buffer.from(`${line}\r\n`, "utf8"), timeoutMs);
  }

  /** Writes part of a message, waiting (at most a command's timeout) while the upstream's receive
   *  window is full, so a slow upstream holds the client back instead of filling memory. */
  async #write(bytes: Buffer): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#socket.write(bytes)) return;
    const socket = this.#socket;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.removeListener("drain", done);
        socket.removeListener("close", done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#fail(new UpstreamError("ETIMEDOUT", "upstream stopped reading the message"));
        done();
      }, this.#options.socketTimeoutMs);
      socket.once("drain", done);
      socket.once("close", done);
    });
    if (this.#error) throw this.#error;
  }

  #send(bytes: Buffer, timeoutMs = this.#options.socketTimeoutMs): Promise<UpstreamReply> {
    const busy = this.#pending !== undefined;
    const reply = this.#read(timeoutMs);
    if (!busy && this.alive) this.#socket.write(bytes);
    return reply;
  }

  /** The next reply; the socket's inactivity timer runs only while one is awaited. */
  #read(timeoutMs: number): Promise<UpstreamReply> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#pending) return Promise.reject(new Error("UpstreamConnection: one command at a time"));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject, timeoutMs };
      this.#socket.setTimeout(timeoutMs);
      this.#takeReplies();
    });
  }

  #attach(socket: Socket): void {
    socket.setEncoding("latin1");
    socket.on("data", this.#onData);
    socket.on("timeout", this.#onTimeout);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.setTimeout(0);
    socket.removeListener("data", this.#onData);
    socket.removeListener("timeout", this.#onTimeout);
    socket.removeListener("error", this.#onError);
    socket.removeListener("close", this.#onClose);
  }

  #onData = (chunk: string) => {
    this.#buffer += chunk;
    this.#takeReplies();
  };
  #onTimeout = () => {
    const ms = this.#pending?.timeoutMs;
    this.#fail(new UpstreamError("ETIMEDOUT", `upstream did not answer within ${ms} ms`));
  };
  #onError = (err: Error) => {
    this.#fail(transportError(err));
  };
  #onClose = () => {
    this.#fail(new UpstreamError("ECONNECTION", "upstream closed the connection"));
    this.#onClosed();
  };

  /** Hands complete replies to the command waiting for one; anything else kills the connection. */
  #takeReplies(): void {
    for (;;) {
      let reply: UpstreamReply | undefined;
      try {
        const parsed = parseReply(this.#buffer);
        if (parsed) this.#buffer = parsed.rest;
        reply = parsed?.reply;
      } catch (err) {
        this.#fail(err as UpstreamError);
        return;
      }
      if (!reply) return;
      const pending = this.#pending;
      if (!pending) {
        // Typically "421 timeout" before the upstream hangs up on an idle pooled connection.
        this.#fail(new UpstreamError("EPROTOCOL", "upstream spoke while no command was in flight", reply));
        return;
      }
      this.#pending = undefined;
      this.#socket.setTimeout(0);
      pending.resolve(reply);
    }
  }

  /** Marks the connection dead (the first reason wins), fails the waiting command, closes. */
  #fail(err: UpstreamError): UpstreamError {
    this.#error ??= err;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#error);
    this.#socket.destroy();
    return this.#error;
  }
}

/**
 * The first complete reply in `buffer` — its lines "250-..." up to the last "250 ..." (RFC 5321
 * §4.2.1) — and what follows it; undefined while it is incomplete. Throws EPROTOCOL on a line that
 * is no reply line, a code that changes within a reply, or a runaway reply.
 */
export function parseReply(buffer: string): { reply: UpstreamReply; rest: string } | undefined {
  const lines: string[] = [];
  let code: string | undefined;
  let offset = 0;
  for (;;) {
    const end = buffer.indexOf("\n", offset);
    if (end < 0) {
      if (buffer.length > MAX_REPLY_BYTES) throw new UpstreamError("EPROTOCOL", "upstream reply too long");
      return undefined;
    }
    const line = buffer.slice(offset, end).replace(/\r$/, "");
    offset = end + 1;
    const match = REPLY_LINE.exec(line);
    if (!match || (code !== undefined && match[1] !== code)) {
      throw new UpstreamError(
        "EPROTOCOL",
        `malformed upstream reply line ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    code = match[1] as string;
    lines.push(match[3] ?? "");
    if (match[2] !== "-") return { reply: { code: Number(code), lines }, rest: buffer.slice(offset) };
  }
}

function safeAddress(address: string): string {
  if (UNSAFE_ADDRESS.test(address))
    throw new UpstreamError("EPROTOCOL", "envelope address with characters SMTP cannot carry");
  return address;
}
