// The mail transaction of an authenticated submission: MAIL FROM and RCPT TO policy, then DATA
// relayed upstream with the client's 250 given only after the upstream's 250.
import { context, INVALID_SPAN_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { endSpan, sessionSpans, tracer } from "../observability/tracing.ts";
import { countUserMessage } from "../observability/user-metrics.ts";
import { isValidMailbox } from "../policy/address.ts";
import { headerFrom } from "../policy/header-from.ts";
import { maySendAs } from "../policy/senders.ts";
import { sourceAllowed } from "../policy/source-address.ts";
import { normalizeLineEndings } from "../relay/data-payload.ts";
import type { AuthenticatedUser } from "./auth-command.ts";
import type { ListenerRuntime, SenderRecord } from "./listener-runtime.ts";
import { receivedHeader } from "./received-header.ts";
import { abortRelay, beginRelay, recordRelayFailure, relayMessage, relayRecipient } from "./relay-session.ts";
import { Replies, type SmtpReply, smtpError } from "./replies.ts";
import {
  activeTransactions,
  currentTransaction,
  endTransaction,
  type OpenTransaction,
  startTransaction,
} from "./transaction-state.ts";

type Done = (err?: Error | null, message?: string) => void;

function authenticatedUser(session: SMTPServerSession): AuthenticatedUser | undefined {
  return session.user ? (session.user as AuthenticatedUser) : undefined;
}

function reject(rt: ListenerRuntime, reason: string, reply: SmtpReply, done: Done): void {
  rt.metrics.policyRejections.inc({ reason });
  done(smtpError(reply));
}

/** The user the transaction is on behalf of: the SASL authorization identity if one was granted. */
function identityOf(user: AuthenticatedUser): string {
  return user.authzid ?? user.username;
}

/**
 * The account behind an authenticated session, checked again at every MAIL FROM: a user disabled,
 * removed, moved out of its networks, or no longer allowed to act as its authzid since AUTH sends
 * nothing more on a session that is already open.
 */
function sendingAccount(rt: ListenerRuntime, user: AuthenticatedUser, remoteAddress: string) {
  const login = rt.lookupUser(user.username);
  const identity = rt.lookupUser(identityOf(user));
  if (!login || !identity || login.disabled || identity.disabled) return undefined;
  if (!sourceAllowed(login.allowedCidrs, remoteAddress)) return undefined;
  const actsAs = user.authzid?.toLowerCase();
  if (
    actsAs &&
    actsAs !== login.username.toLowerCase() &&
    !login.authorizeFor.some((a) => a.toLowerCase() === actsAs)
  ) {
    return undefined;
  }
  return identity;
}

/** Sender patterns the session may use, including those of an RFC 4954 §5 `AUTH=` identity the
 *  user is allowed to submit for; any other `AUTH=` value is treated as `AUTH=<>` (ignored). */
function senderPatterns(rt: ListenerRuntime, record: SenderRecord, authParam: unknown): string[] {
  const patterns = [...record.senders];
  if (typeof authParam === "string" && authParam !== "<>") {
    const onBehalfOf = authParam.replace(/^<(.*)>$/, "$1").toLowerCase();
    const target = rt.lookupUser(onBehalfOf);
    const allowed = record.authorizeFor.some((a) => a.toLowerCase() === onBehalfOf);
    if (allowed && target && !target.disabled) patterns.push(...target.senders);
  }
  return patterns;
}

function rateLimited(retryAfterSeconds: number, what: string): SmtpReply {
  return {
    code: 451,
    enhanced: "4.7.1",
    text: `${what} rate limit exceeded, retry after ${retryAfterSeconds} seconds`,
  };
}

/** RSET, a new EHLO or HELO, STARTTLS or a disconnect: the transaction ends undelivered. */
export function abortTransaction(session: SMTPServerSession): void {
  abortRelay(session);
  endTransaction(session, false);
}

export function onMailFrom(
  rt: ListenerRuntime,
  address: SMTPServerAddress,
  session: SMTPServerSession,
  done: Done,
) {
  if (rt.listener.mode === "starttls" && rt.tlsAvailable && !session.secure) {
    // RFC 3207 §4: the submission port with a certificate never carries mail in the clear (a
    // SCRAM login needs no TLS, the message it then sends does).
    return reject(rt, "tls_required", Replies.tlsRequired, done);
  }
  abortTransaction(session); // a new MAIL FROM ends whatever the client left open
  const user = authenticatedUser(session);
  if (!user) return done(); // relay-port without AUTH: refused at RCPT, as RFC 5321 relaying is
  const account = sendingAccount(rt, user, session.remoteAddress);
  if (!account) return reject(rt, "account_disabled", Replies.accountNotAllowed, done);
  if (!isValidMailbox(address.address)) return reject(rt, "sender_syntax", Replies.badSender, done);
  const config = rt.config();
  const patterns = senderPatterns(rt, account, address.args ? address.args.AUTH : undefined);
  const alignment = config.policy.senderAlignment;
  if (alignment !== "header" && !maySendAs(patterns, address.address)) {
    return reject(rt, "sender_not_owned", Replies.senderNotOwned, done);
  }
  if (activeTransactions(account.username) >= config.limits.maxTransactionsPerUser) {
    return reject(rt, "concurrent_transactions", Replies.tooManyTransactions, done);
  }
  const limit = account.rateLimit ?? config.policy.rateLimit;
  const tx: OpenTransaction = { user: account.username, patterns, alignment, limit };
  if (limit) {
    const verdict = rt.limiter.checkMessage(account.username, limit);
    if (!verdict.ok) {
      return reject(rt, "rate_limit_messages", rateLimited(verdict.retryAfterSeconds, "Message"), done);
    }
    // Reserved now, so parallel transactions cannot all pass the check; given back if undelivered.
    const usage = rt.limiter.record(account.username, 0);
    tx.usage = usage;
    tx.release = () => rt.limiter.forget(account.username, usage);
  }
  startTransaction(session, tx);
  const size = Number(address.args ? address.args.SIZE : undefined);
  beginRelay(rt, session, address.address, Number.isSafeInteger(size) ? size : undefined).then(
    (refusal) => {
      if (refusal) endTransaction(session, false);
      done(refusal ? smtpError(refusal) : null);
    },
    (err: unknown) => {
      endTransaction(session, false);
      done(err as Error);
    },
  );
}

export function onRcptTo(
  rt: ListenerRuntime,
  address: SMTPServerAddress,
  session: SMTPServerSession,
  done: Done,
) {
  // Every recipient is a relay: the gateway delivers nowhere locally. Without AUTH, never.
  if (!authenticatedUser(session)) return reject(rt, "relay_denied", Replies.relayDenied, done);
  if (!isValidMailbox(address.address)) return reject(rt, "recipient_syntax", Replies.badRecipient, done);
  const wanted = address.address.toLowerCase();
  // A repeated recipient is already on the upstream envelope; asking again would deliver twice.
  if (session.envelope.rcptTo.some((r) => r.address.toLowerCase() === wanted)) return done();
  if (session.envelope.rcptTo.length >= rt.config().limits.maxRecipients) {
    return reject(rt, "too_many_recipients", Replies.tooManyRecipients, done);
  }
  const tx = currentTransaction(session);
  if (tx?.limit) {
    const verdict = rt.limiter.checkRecipient(tx.user, tx.limit, 0);
    if (!verdict.ok) {
      return reject(rt, "rate_limit_recipients", rateLimited(verdict.retryAfterSeconds, "Recipient"), done);
    }
  }
  relayRecipient(rt, session, address.address).then(
    (refusal) => {
      if (!refusal && tx?.usage) tx.usage.recipients += 1;
      done(refusal ? smtpError(refusal) : null);
    },
    (err: unknown) => done(err as Error),
  );
}

function headerMisalignment(session: SMTPServerSession, body: Buffer): SmtpReply | undefined {
  const tx = currentTransaction(session);
  if (!tx || tx.alignment === "envelope") return undefined;
  const from = headerFrom(body);
  if (!from.ok) return Replies.headerFromInvalid;
  return from.addresses.every((a) => maySendAs(tx.patterns, a)) ? undefined : Replies.headerFromNotOwned;
}

export function onData(
  rt: ListenerRuntime,
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
  done: Done,
) {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => {
    if (!stream.sizeExceeded) chunks.push(chunk);
  });
  stream.once("error", (err) => {
    abortTransaction(session);
    done(err);
  });
  stream.once("end", () => {
    const refuse = (reason: string, reply: SmtpReply) => {
      abortTransaction(session);
      rt.metrics.messages.inc({ result: "rejected", reason });
      reject(rt, reason, reply, done);
    };
    if (stream.sizeExceeded) return refuse("message_size", Replies.messageTooBig);
    // Normalised before any check, so the header the policy reads is the header the upstream gets.
    const body = normalizeLineEndings(Buffer.concat(chunks));
    chunks.length = 0;
    // RFC 5321 §4.5.2 text has no NUL; some MTAs drop it before looking for end of data.
    if (body.includes(0)) return refuse("nul_in_message", Replies.nulInMessage);
    const misaligned = headerMisalignment(session, body);
    if (misaligned) return refuse("header_from", misaligned);
    rt.drain.relaying.add(session);
    relay(rt, body, session)
      .then(
        (reply) => {
          endTransaction(session, reply.code < 300);
          done(reply.code < 300 ? null : smtpError(reply), reply.text);
        },
        (err: unknown) => {
          endTransaction(session, false);
          done(err as Error);
        },
      )
      .finally(() => rt.drain.relaying.delete(session));
  });
}

async function relay(rt: ListenerRuntime, body: Buffer, session: SMTPServerSession): Promise<SmtpReply> {
  const config = rt.config();
  const header = receivedHeader({
    heloName: session.hostNameAppearsAs || "unknown",
    clientAddress: session.remoteAddress,
    serverName: config.hostname,
    protocol: session.transmissionType,
    id: session.id,
    date: new Date(),
  });
  const message = Buffer.concat([Buffer.from(header, "latin1"), body]);
  rt.metrics.messageSize.observe(message.length);
  const stopTimer = rt.metrics.relayDuration.startTimer();
  const span = tracer.startSpan(
    "smtp.relay",
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "smtp.recipients": session.envelope.rcptTo.length,
        "messaging.message.body.size": message.length,
      },
    },
    trace.setSpan(context.active(), sessionSpans.get(session) ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT)),
  );
  const outcome = await relayMessage(session, message);
  stopTimer();
  span.setAttribute("smtp.reply.code", outcome.ok ? 250 : outcome.reply.code);
  endSpan(span, outcome.ok ? undefined : outcome.reply.text);
  if (outcome.ok) {
    rt.metrics.relay.inc({ result: "accepted", code_class: "2xx" });
    rt.metrics.messages.inc({ result: "accepted", reason: "relayed" });
    countUserMessage(rt, session, "accepted");
    return { code: 250, enhanced: "2.6.0", text: `Ok: relayed as ${session.id}` };
  }
  recordRelayFailure(rt, session, outcome);
  return outcome.reply;
}
