// smtp-server's connection with Postern's AUTH. smtp-server parses SMTP well but implements only
// PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 with fixed replies and one mechanism list for every
// connection. Its extension point is the `handler_<VERB>` method lookup on the connection class, so
// this subclass replaces `handler_AUTH` with Postern's driver and adjusts EHLO's AUTH line to the
// mechanisms this connection may use — everything else (parsing, pipelining, STARTTLS hygiene,
// DATA dot-unstuffing) stays the library's.
import type { TLSSocket } from "node:tls";
import { context, type Span, SpanKind, trace } from "@opentelemetry/api";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import { endSpan, traceFields, tracer } from "../observability/tracing.ts";
import type { DrainableConnection } from "../runtime/drain.ts";
import { offeredMechanisms } from "../sasl/registry.ts";
import { type AuthenticatedUser, type AuthIO, ConnectionClosed, handleAuth } from "./auth-command.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import type { MailConnection } from "./mail-commands.ts";
import { Replies, type SmtpReply } from "./replies.ts";
import { type Transaction, type TransactionClient, transactionIdleReply } from "./transaction.ts";

type Callback = () => void;

export class PosternConnection extends SMTPConnection implements DrainableConnection, MailConnection {
  readonly listener: ListenerRuntime;
  authFailures = 0;
  /** The client's open mail transaction: its one home from MAIL FROM to the end of DATA. */
  transaction: Transaction | undefined;
  closed = false;

  constructor(listener: ListenerRuntime, ...args: ConstructorParameters<typeof SMTPConnection>) {
    super(...args);
    this.listener = listener;
    this.#span = tracer.startSpan("smtp.session", {
      kind: SpanKind.SERVER,
      attributes: {
        "network.transport": "tcp",
        "network.peer.address": this.remoteAddress,
        "network.peer.port": this.remotePort,
        "server.port": this.localPort,
        "postern.listener": listener.listener.name,
      },
    });
  }

  override _onClose(): void {
    this.closed = true;
    this.#abandonAuth?.();
    this.transaction?.abort();
    this.#span.setAttribute("smtp.authenticated", Boolean(this.session.user));
    endSpan(this.#span);
    super._onClose();
  }

  transactionClient(): TransactionClient {
    const session = this.session;
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      login: (session.user as AuthenticatedUser | undefined)?.username ?? "",
      heloName: session.hostNameAppearsAs,
      protocol: session.transmissionType,
      span: this.#span,
      idleTimeout: () => this.refuse(transactionIdleReply),
    };
  }

  #greeted = false;
  readonly #span: Span;

  /** smtp-server holds the greeting back 100 ms to catch clients that talk first. On a submission
   *  port, where nothing happens before AUTH, that only adds latency to every connection, so the
   *  greeting goes out as soon as the socket (and TLS, on implicit-TLS ports) is ready. Early
   *  talkers are still refused ("You talk too soon"): the library drops commands before it. */
  override _setListeners(callback: Callback): void {
    super._setListeners(() => {
      callback();
      this.connectionReady();
    });
  }

  override connectionReady(next?: Callback): void {
    if (this.#greeted) return;
    this.#greeted = true;
    super.connectionReady(next);
  }

  /** The client certificate, only when it verified against the configured client CA. */
  verifiedClientCertificate() {
    const socket = this._socket as Partial<TLSSocket>;
    if (!this.secure || !socket.authorized || typeof socket.getPeerCertificate !== "function")
      return undefined;
    const cert = socket.getPeerCertificate();
    return cert && Object.keys(cert).length > 0 ? cert : undefined;
  }

  /** Whenever the library resets the session (RSET, a successful EHLO or HELO, STARTTLS, the end of
   *  DATA), an open transaction ends: its upstream transaction is abandoned at once, freeing its
   *  pool slot, and an undelivered message gives its rate-limit reservation back. */
  override _resetSession(): void {
    this.transaction?.abort();
    this.transaction = undefined;
    super._resetSession();
  }

  /** EHLO as the library builds it, with the AUTH line replaced by this connection's mechanisms. */
  override handler_EHLO(command: Buffer, callback: Callback): void {
    const send = this.send;
    this.send = (code, data, context) => {
      this.send = send;
      if (code === 250 && Array.isArray(data)) {
        const mechanisms = this.session.user
          ? []
          : offeredMechanisms(this.listener.auth().enabled, {
              secure: this.secure,
              hasClientCertificate: this.verifiedClientCertificate() !== undefined,
            });
        const lines = data.filter((line) => !/^AUTH\b/i.test(line));
        if (mechanisms.length > 0) lines.splice(1, 0, `AUTH ${mechanisms.join(" ")}`);
        data = lines;
      }
      send.call(this, code, data, context);
    };
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.send = send;
    }
  }

  /** Ends an AUTH exchange waiting for a line when the connection closes: otherwise it would wait for
   *  ever, holding its turn in the brute-force throttle (which would keep that user-at-address out). */
  #abandonAuth: (() => void) | undefined;

  override handler_AUTH(command: Buffer, callback: Callback): void {
    // smtp-server resumes reading commands when `callback` runs, so a multi-step exchange keeps the
    // callback of the line it is processing and releases it only when it wants the next line.
    let resume: Callback | undefined = callback;
    const release = () => {
      const next = resume;
      resume = undefined;
      next?.();
    };
    const conn = this;
    const io: AuthIO = {
      get secure() {
        return conn.secure;
      },
      tlsAvailable: this.listener.tlsAvailable && !this.secure,
      remoteAddress: this.remoteAddress,
      clientCertificate: this.verifiedClientCertificate(),
      authenticated: Boolean(this.session.user),
      inTransaction: Boolean(this.session.envelope?.mailFrom),
      get failures() {
        return conn.authFailures;
      },
      set failures(n: number) {
        conn.authFailures = n;
      },
      reply: (reply: SmtpReply) => this.sendReply(reply),
      challenge: (data: Buffer) => this.send(334, data.toString("base64")),
      nextLine: () =>
        new Promise<string>((resolve, reject) => {
          if (this.closed) return reject(new ConnectionClosed());
          this.#abandonAuth = () => reject(new ConnectionClosed());
          this._nextHandler = (line: Buffer, cb: Callback) => {
            this.#abandonAuth = undefined;
            resume = cb;
            resolve(line.toString("latin1"));
          };
          release();
        }),
      succeed: (user: AuthenticatedUser) => {
        this.session.user = user as never;
        this.session.transmissionType = this._transmissionType();
      },
      close: () => this.close(),
    };
    const mechanism = command.toString("latin1").trim().split(/\s+/)[1]?.toUpperCase() ?? "";
    const span = tracer.startSpan(
      "smtp.auth",
      { attributes: { "sasl.mechanism": mechanism } },
      trace.setSpan(context.active(), this.#span),
    );
    let lastReply: SmtpReply | undefined;
    const reply = io.reply;
    io.reply = (r: SmtpReply) => {
      lastReply = r;
      reply(r);
    };
    handleAuth(io, command.toString("latin1"), this.listener.auth())
      .catch((err: unknown) => {
        if (err instanceof ConnectionClosed) return;
        this.listener.logger.error({ err, cid: this.id, ...traceFields(span) }, "AUTH driver failed");
        io.reply(Replies.authTemporaryFailure);
      })
      .finally(() => {
        span.setAttribute("smtp.reply.code", lastReply?.code ?? 0);
        endSpan(span, lastReply && lastReply.code >= 400 ? lastReply.text : undefined);
        release();
      });
  }

  inTransaction(): boolean {
    const phase = this.transaction?.phase;
    return phase !== undefined && phase !== "over";
  }

  relaying(): boolean {
    return this.transaction?.phase === "awaiting-reply";
  }

  /** Between STARTTLS's 220 and the end of the handshake nothing can be said to the client. */
  upgrading(): boolean {
    return this._upgrading;
  }

  /** Sends a 421 (smtp-server closes the connection after any 421). */
  refuse(reply: SmtpReply): void {
    this.sendReply(reply);
  }

  /** Shutdown: the transaction ends undelivered first (the upstream never gets an end of data), then
   *  the client hears 421 and the connection closes. */
  stop(reply: SmtpReply): void {
    this.transaction?.abort();
    this.refuse(reply);
  }

  /** While draining, only a transaction already under way may continue; QUIT is always polite. */
  override _onCommand(command: Buffer, callback?: Callback): void {
    if (this._nextHandler) {
      this.#continueAuth(command, callback);
      return;
    }
    if (this.listener.drain.draining && !this._nextHandler && !this.inTransaction()) {
      const verb = command.toString("latin1").split(" ")[0]?.toUpperCase();
      if (verb !== "QUIT") {
        this.refuse(Replies.shuttingDown);
        return;
      }
    }
    super._onCommand(command, callback);
  }

  /**
   * An AUTH continuation line goes straight to the exchange. smtp-server would first read its first
   * word as a command name: a response that happens to read "MAIL", "RCPT" or "DATA" (valid base64)
   * got 530 and was never handed on, leaving the exchange hanging, and every line counted against the
   * unauthenticated-command limit. RFC 4954 §4: a continuation line is the exchange's, and only it answers.
   */
  #continueAuth(line: Buffer, callback?: Callback): void {
    const handler = this._nextHandler as (line: Buffer, cb: Callback) => void;
    this._nextHandler = false;
    // As the library does for a command: the idle timer waits while the server works on the line.
    this._handlerPending = true;
    handler.call(this, line, () => {
      this._handlerPending = false;
      this._whenWritable(callback ?? (() => false));
    });
  }

  /**
   * smtp-server drops an RFC 5321 source route ("<@relay.example:user@example.net>") while parsing,
   * which RFC 5321 §3.6.1 allows; a submission gateway declines routed paths instead (the same section
   * allows that too). Handing the path on whole lets the envelope policy refuse it as bad syntax.
   */
  override _parseAddressCommand(name: string, command: Buffer | string) {
    const parsed = super._parseAddressCommand(name, command);
    const routedPath = SOURCE_ROUTED_PATH.exec(command.toString())?.[1];
    if (parsed && routedPath !== undefined) parsed.address = routedPath;
    return parsed;
  }

  /** Sends one of Postern's replies with exactly its enhanced code. */
  sendReply(reply: SmtpReply): void {
    this.send(reply.code, reply.enhanced ? `${reply.enhanced} ${reply.text}` : reply.text);
  }

  /** Text that already starts with an RFC 3463 code (ours, or an upstream's passed through) is sent
   *  as is; otherwise the library adds its default enhanced code. */
  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (typeof data === "string" && ENHANCED_CODE.test(data)) context = false;
    super.send(code, data, context);
  }
}

const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
/** `MAIL FROM:<@a,@b:user@domain>`: a path is routed exactly when it starts with "@". */
const SOURCE_ROUTED_PATH = /^[^:]*:\s*<(@[^<>]*)>/;
