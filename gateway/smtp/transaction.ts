// One client mail transaction, from MAIL FROM to the upstream's reply after DATA (or RSET, a new
// EHLO, STARTTLS, a refusal, silence, shutdown or a disconnect): the one place that holds what the
// transaction decided at MAIL FROM, its upstream transaction, its rate-limit reservation, its share
// of the user's open transactions, and that logs and counts its outcome once. The connection holds
// it (PosternConnection.transaction); mail-commands.ts drives it.
//
// DATA streams: the header section is held until sender alignment has read it, then the message
// goes upstream chunk by chunk as the client sends it (backpressure both ways), and the client's 250
// is the upstream's own 250 after the end of the data.
import { context, type Span, SpanKind, trace } from "@opentelemetry/api";
import type { SMTPServerDataStream } from "smtp-server";
import { endSpan, tracer } from "../observability/tracing.ts";
import { countUserMessage } from "../observability/user-metrics.ts";
import type { Charge } from "../policy/charges.ts";
import { headerFrom } from "../policy/header-from.ts";
import type { Usage } from "../policy/rate-limiter.ts";
import { maySendAs } from "../policy/senders.ts";
import type { UpstreamTransaction } from "../relay/upstream-api.ts";
import type { UpstreamFailure } from "../relay/upstream-reply.ts";
import { readHeaderSection } from "./header-section.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import { logMessage, type MessageOutcome, resultOf } from "./message-log.ts";
import { receivedHeader } from "./received-header.ts";
import { Replies, type SmtpReply } from "./replies.ts";
import { transactionClosed, transactionOpened } from "./transaction-state.ts";

/** The client connection as a transaction needs it. */
export interface TransactionClient {
  readonly id: string;
  readonly remoteAddress: string;
  /** The authenticated login. */
  readonly login: string;
  readonly heloName: string;
  /** smtp-server's transmission type, e.g. "ESMTPSA", for the Received header. */
  readonly protocol: string;
  readonly span: Span;
  /** The client stayed silent too long inside the transaction: tell it and hang up. */
  idleTimeout(): void;
}

/** What MAIL FROM decided. */
export interface TransactionPlan {
  /** The canonical user the mail is sent for, as per-user metrics name it. */
  owner: string;
  /** The login's identity key: the upstream pool's per-user share is the login's, however many
   *  identities it acts for. */
  loginKey: string;
  sender: string;
  /** Sender patterns the header From must match (alignment "header" or "both"). */
  patterns: readonly string[];
  alignment: "envelope" | "header" | "both";
  /** Whom the transaction cap and send limits count against: the login, and the identity it acts for. */
  charges: readonly Charge[];
  /** The SIZE the client declared. */
  declaredSize: number | undefined;
  /** The BODY the client declared (RFC 6152). */
  body: "7BIT" | "8BITMIME" | undefined;
}

/** Where the transaction is: waiting for the client's commands, receiving DATA, waiting for the
 *  upstream's final reply (the message was handed over whole), or over. */
export type TransactionPhase = "envelope" | "data" | "awaiting-reply" | "over";

/** A refusal found while the message streams in. */
class Refusal extends Error {
  readonly reason: string;
  readonly reply: SmtpReply;
  constructor(reason: string, reply: SmtpReply) {
    super(reply.text);
    this.reason = reason;
    this.reply = reply;
  }
}

const idleReply: SmtpReply = {
  code: 421,
  enhanced: "4.4.2",
  text: "Idle inside a mail transaction, closing connection",
};

export class Transaction {
  readonly plan: TransactionPlan;
  readonly #rt: ListenerRuntime;
  readonly #client: TransactionClient;
  #upstream: UpstreamTransaction | undefined;
  /** Rate-limit reservations, one per charge with a limit. */
  #usages: { key: string; usage: Usage }[] = [];
  #phase: TransactionPhase = "envelope";
  #recipients = 0;
  #size = 0;
  #idle: NodeJS.Timeout | undefined;

  private constructor(rt: ListenerRuntime, client: TransactionClient, plan: TransactionPlan) {
    this.#rt = rt;
    this.#client = client;
    this.plan = plan;
    for (const { key, limit } of plan.charges) {
      transactionOpened(key);
      // Reserved, given back if undelivered.
      if (limit) this.#usages.push({ key, usage: rt.limiter.record(key, 0) });
    }
  }

  /** Opens the upstream transaction (MAIL FROM upstream); the refusal for the client if it fails. */
  static async open(
    rt: ListenerRuntime,
    client: TransactionClient,
    plan: TransactionPlan,
  ): Promise<{ ok: true; tx: Transaction } | { ok: false; reply: SmtpReply }> {
    const tx = new Transaction(rt, client, plan);
    const result = await rt.relay().begin(plan.sender, {
      size: plan.declaredSize,
      body: plan.body,
      owner: plan.loginKey,
    });
    if (!result.ok) {
      tx.#upstreamFailed(result);
      return { ok: false, reply: result.reply };
    }
    if (tx.#phase === "over") {
      result.tx.abort(); // the client went away while the upstream answered
    } else {
      tx.#upstream = result.tx;
      tx.#waitForClient();
    }
    return { ok: true, tx };
  }

  get phase(): TransactionPhase {
    return this.#phase;
  }

  /** RCPT TO: the upstream's verdict on one recipient; resolves to the refusal, if any. */
  async addRecipient(address: string): Promise<SmtpReply | undefined> {
    const upstream = this.#upstream;
    if (!upstream || this.#phase !== "envelope") return Replies.noTransaction;
    this.#clientAnswered();
    const step = await upstream.rcpt(address);
    this.#waitForClient();
    if (step.ok) {
      this.#recipients++;
      for (const { usage } of this.#usages) usage.recipients += 1;
      return undefined;
    }
    // Logged, not counted in postern_relay_total: that counts hand-offs (one per transaction), and a
    // refused recipient is most often the sender's typo, not upstream trouble.
    this.#rt.logger.info(
      { cid: this.#client.id, reply: step.reply, detail: step.detail },
      "upstream refused a recipient",
    );
    return step.reply;
  }

  /** DATA: streams the message upstream; resolves with the reply for the client, which is a 250
   *  only when the upstream answered 250 to the complete message. */
  async deliver(stream: SMTPServerDataStream): Promise<SmtpReply> {
    const upstream = this.#upstream;
    if (!upstream || this.#phase !== "envelope") {
      await drained(stream);
      return Replies.noTransaction;
    }
    this.#phase = "data";
    const chunks = this.#clientChunks(stream);
    try {
      let head: Buffer = Buffer.alloc(0);
      if (this.plan.alignment !== "envelope") {
        ({ head } = await readHeaderSection(chunks));
        const misaligned = this.#headerMisalignment(head);
        if (misaligned) throw new Refusal("header_from", misaligned);
      }
      const outcome = await this.#relay(upstream, this.#message(head, chunks));
      if (this.#refusal) throw this.#refusal;
      return outcome;
    } catch (err) {
      if (!(err instanceof Refusal)) {
        this.abort();
        throw err;
      }
      this.#end(err.reason, err.reply, undefined);
      return err.reply;
    } finally {
      // The client hears the verdict only after its end of data, as SMTP wants.
      await chunks.return(undefined);
      await drained(stream);
    }
  }

  /** The transaction ends undelivered (RSET, EHLO, STARTTLS, a new MAIL FROM, disconnect, shutdown):
   *  the upstream never sees an end of data, so it keeps nothing. */
  abort(): void {
    if (this.#phase === "over") return;
    this.#end(undefined, undefined, undefined);
  }

  #refusal: Refusal | undefined;

  /** The client's DATA, checked chunk by chunk; the phase moves to awaiting-reply exactly when the
   *  client's end of data arrived, which is when the upstream gets its end of data too. */
  async *#clientChunks(stream: SMTPServerDataStream): AsyncGenerator<Buffer> {
    const iterator = stream.iterator({ destroyOnReturn: false });
    try {
      for (;;) {
        this.#waitForClient();
        const next = await iterator.next();
        this.#clientAnswered();
        if (next.done) break;
        const chunk = next.value as Buffer;
        this.#size += chunk.length;
        // smtp-server answers 552 itself once the stream ends; the upstream must not get the message.
        if (stream.sizeExceeded) this.#refuse(new Refusal("message_size", Replies.messageTooBig));
        // RFC 5321 §4.5.2 text has no NUL; some MTAs drop it before looking for end of data.
        if (chunk.includes(0)) this.#refuse(new Refusal("nul_in_message", Replies.nulInMessage));
        yield chunk;
      }
    } finally {
      // Detaches from the stream without destroying it, so the rest can still be read and dropped.
      await iterator.return?.();
    }
    // An iterator also stops when smtp-server destroys the stream (the client went away): only a
    // real end of data may end the message upstream.
    if (!stream.readableEnded || this.#phase !== "data") throw new Error("DATA ended without end of data");
    this.#phase = "awaiting-reply";
  }

  #refuse(refusal: Refusal): never {
    this.#refusal = refusal;
    throw refusal;
  }

  async *#message(head: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    const plan = this.#client;
    const received = receivedHeader({
      heloName: plan.heloName || "unknown",
      clientAddress: plan.remoteAddress,
      serverName: this.#rt.config().hostname,
      protocol: plan.protocol,
      id: plan.id,
      date: new Date(),
    });
    yield Buffer.from(received, "latin1");
    if (head.length > 0) yield head;
    yield* rest;
  }

  #headerMisalignment(head: Buffer): SmtpReply | undefined {
    const from = headerFrom(head);
    if (!from.ok) return Replies.headerFromInvalid;
    return from.addresses.every((a) => maySendAs(this.plan.patterns, a))
      ? undefined
      : Replies.headerFromNotOwned;
  }

  async #relay(upstream: UpstreamTransaction, message: AsyncIterable<Buffer>): Promise<SmtpReply> {
    const { metrics } = this.#rt;
    const stopTimer = metrics.relayDuration.startTimer();
    const span = tracer.startSpan(
      "smtp.relay",
      { kind: SpanKind.CLIENT, attributes: { "smtp.recipients": this.#recipients } },
      trace.setSpan(context.active(), this.#client.span),
    );
    const outcome = await upstream.data(message);
    stopTimer();
    span.setAttribute("messaging.message.body.size", this.#size);
    span.setAttribute("smtp.reply.code", outcome.ok ? 250 : outcome.reply.code);
    endSpan(span, outcome.ok ? undefined : outcome.reply.text);
    if (this.#refusal || this.#phase === "over") return Replies.noTransaction;
    if (!outcome.ok) {
      this.#upstreamFailed(outcome);
      return outcome.reply;
    }
    metrics.messageSize.observe(this.#size);
    metrics.relay.inc({ result: "accepted", code_class: "2xx" });
    const reply = { code: 250, enhanced: "2.6.0", text: `Ok: relayed as ${this.#client.id}` };
    this.#end("relayed", reply, outcome.response);
    return reply;
  }

  /** Counts and logs an upstream failure that ends the transaction (at MAIL FROM or DATA). */
  #upstreamFailed(failure: UpstreamFailure): void {
    this.#rt.metrics.relay.inc({ result: "failed", code_class: failure.codeClass });
    this.#rt.logger.warn(
      { cid: this.#client.id, reply: failure.reply, detail: failure.detail },
      "upstream refused or unreachable",
    );
    this.#end(`upstream_${failure.codeClass}`, failure.reply, failure.upstreamReply);
  }

  /** Ends the transaction once: the upstream connection goes back (or away), the rate-limit
   *  reservation is kept only for a delivered message, and a relayed or refused message is counted
   *  and logged (an abandoned one — no verdict — is neither). */
  #end(reason: string | undefined, reply: SmtpReply | undefined, upstreamReply: string | undefined): void {
    if (this.#phase === "over") return;
    this.#phase = "over";
    this.#clientAnswered();
    this.#upstream?.abort();
    this.#upstream = undefined;
    for (const { key } of this.plan.charges) transactionClosed(key);
    const delivered = reply !== undefined && reply.code < 300;
    if (!delivered) for (const { key, usage } of this.#usages) this.#rt.limiter.forget(key, usage);
    if (reply === undefined || reason === undefined) return;
    const result = resultOf(reply);
    this.#rt.metrics.messages.inc({
      result: result === "relayed" ? "accepted" : result,
      reason,
    });
    if (result !== "relayed" && !reason.startsWith("upstream_"))
      this.#rt.metrics.policyRejections.inc({ reason });
    countUserMessage(this.#rt, this.plan.owner, result === "relayed" ? "accepted" : result);
    logMessage(this.#rt.logger, this.#outcome(reason, reply, upstreamReply));
  }

  #outcome(reason: string, reply: SmtpReply, upstreamReply: string | undefined): MessageOutcome {
    return {
      id: this.#client.id,
      client: this.#client.remoteAddress,
      user: this.#client.login,
      sender: this.plan.sender,
      recipients: this.#recipients,
      size: this.#phase === "envelope" ? this.plan.declaredSize : this.#size,
      reply,
      upstreamReply,
      reason,
    };
  }

  /** The gateway waits for the client: from now the idle limit runs. */
  #waitForClient(): void {
    if (this.#phase === "over" || this.#phase === "awaiting-reply") return;
    clearTimeout(this.#idle);
    const ms = this.#rt.config().limits.transactionIdleSeconds * 1000;
    this.#idle = setTimeout(() => {
      this.#rt.logger.info({ cid: this.#client.id, reply: idleReply }, "client idle inside a transaction");
      this.abort();
      this.#client.idleTimeout();
    }, ms).unref();
  }

  /** The client spoke (or the transaction is over): the gateway, not the client, has the turn. */
  #clientAnswered(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }
}

/** The reply a client gets when its transaction went idle. */
export const transactionIdleReply = idleReply;

/** Reads and drops the rest of a DATA stream, so the reply follows the client's end of data. */
async function drained(stream: SMTPServerDataStream): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.resume();
  });
}
