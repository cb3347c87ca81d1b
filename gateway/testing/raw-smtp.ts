// A byte-exact SMTP client for tests that must send what no well-behaved client would (pipelined
// STARTTLS injection, over-long AUTH lines, bad base64, smuggling sequences) and read each reply
// verbatim. Independent client interop is tested with swaks, msmtp, gsasl, curl and Python.
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from "node:tls";
import { scramClient } from "../sasl/testing/scram-client.ts";

export interface Reply {
  code: number;
  /** Text of every line without the code and separator. */
  lines: string[];
  /** The last line as sent, e.g. "535 5.7.8 Authentication credentials invalid". */
  last: string;
}

/** Base64 of the UTF-8 bytes of `text`, as SASL exchanges carry them. */
export function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** The AUTH PLAIN response (RFC 4616: authzid NUL authcid NUL passwd), base64-encoded. */
export function authPlain(username: string, password: string, authzid = ""): string {
  return base64(`${authzid}\0${username}\0${password}`);
}

export interface SessionOptions {
  /** "implicit": TLS from the first byte; "starttls": upgraded after the first EHLO. */
  tls: "implicit" | "starttls" | "none";
  /** Client TLS options, e.g. a client certificate. */
  tlsOptions?: ConnectionOptions;
  /** The client's source address (any of 127.0.0.0/8 reaches a loopback listener). */
  localAddress?: string;
}

export class RawSmtp {
  #socket: Socket | TLSSocket;
  #buffer = "";
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket | TLSSocket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  /** `localAddress` picks the client's source address (any of 127.0.0.0/8 reaches a loopback listener). */
  static async connect(
    port: number,
    options: { tls?: ConnectionOptions; localAddress?: string } = {},
  ): Promise<RawSmtp> {
    const tcp = netConnect({ port, host: "127.0.0.1", localAddress: options.localAddress });
    const socket = options.tls ? tlsConnect({ socket: tcp, rejectUnauthorized: false, ...options.tls }) : tcp;
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    return new RawSmtp(socket);
  }

  /**
   * A session ready for AUTH: connected (TLS from the first byte when `tls` is "implicit"), greeted
   * and EHLO'd, and with "starttls" also upgraded and EHLO'd again. Throws when any of these steps
   * is refused.
   */
  static async session(port: number, options: SessionOptions): Promise<RawSmtp> {
    const tlsOptions = options.tlsOptions ?? {};
    const client = await RawSmtp.connect(port, {
      localAddress: options.localAddress,
      ...(options.tls === "implicit" ? { tls: tlsOptions } : {}),
    });
    try {
      await expectCode(client.read(), 220);
      await expectCode(client.command("EHLO client.test"), 250);
      if (options.tls === "starttls") {
        await expectCode(client.startTls(tlsOptions), 220);
        await expectCode(client.command("EHLO client.test"), 250);
      }
    } catch (error) {
      client.close(); // an open connection would hold up the gateway's shutdown after the test
      throw error;
    }
    return client;
  }

  /**
   * A session (implicit TLS unless `options` say otherwise) in which `user` logged in, with AUTH
   * PLAIN (asking for `authzid` if given) unless `options.mechanism` asks for SCRAM-SHA-256 (whose
   * server signature is checked too). Throws unless the gateway answered 235.
   */
  static async authenticated(
    port: number,
    user: { username: string; password: string },
    options: SessionOptions & { mechanism?: "PLAIN" | "SCRAM-SHA-256"; authzid?: string } = {
      tls: "implicit",
    },
  ): Promise<RawSmtp> {
    const client = await RawSmtp.session(port, options);
    try {
      if (options.mechanism === "SCRAM-SHA-256") {
        await client.#scramSha256(user.username, user.password);
      } else {
        const response = authPlain(user.username, user.password, options.authzid);
        await expectCode(client.command(`AUTH PLAIN ${response}`), 235);
      }
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  async #scramSha256(username: string, password: string): Promise<void> {
    const scram = scramClient(username, password);
    const serverFirst = await this.command(`AUTH SCRAM-SHA-256 ${scram.first.toString("base64")}`);
    if (serverFirst.code !== 334) throw new Error(`expected 334, got ${JSON.stringify(serverFirst.last)}`);
    const { message, serverFinal } = scram.final(Buffer.from(serverFirst.lines[0] ?? "", "base64"));
    const verifier = await this.command(message.toString("base64"));
    if (verifier.code !== 334 || Buffer.from(verifier.lines[0] ?? "", "base64").toString() !== serverFinal) {
      throw new Error(`SCRAM server-final is not ${serverFinal}: ${JSON.stringify(verifier.last)}`);
    }
    await expectCode(this.command(""), 235);
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Reads one (possibly multi-line) reply. */
  async read(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3})(?: [^\r\n]*)?\r\n/.exec(this.#buffer);
      if (match) {
        const text = match[0];
        this.#buffer = this.#buffer.slice(text.length);
        const rows = text.split("\r\n").filter(Boolean);
        return {
          code: Number(match[1]),
          lines: rows.map((r) => r.slice(4)),
          last: rows[rows.length - 1] ?? "",
        };
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buffer)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Writes bytes exactly as given (no CRLF added). */
  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** STARTTLS, then the TLS handshake on the same connection. */
  async startTls(options: ConnectionOptions = {}): Promise<Reply> {
    const reply = await this.command("STARTTLS");
    if (reply.code !== 220) return reply;
    await this.upgrade(options);
    return reply;
  }

  async upgrade(options: ConnectionOptions = {}): Promise<void> {
    const plain = this.#socket;
    plain.removeAllListeners("data");
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.#socket = secure;
    this.#attach(secure);
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

async function expectCode(reply: Promise<Reply>, code: number): Promise<void> {
  const { last } = await reply;
  if (!last.startsWith(`${code}`)) throw new Error(`expected ${code}, got ${JSON.stringify(last)}`);
}
