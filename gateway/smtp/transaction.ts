// The mail transaction of an authenticated submission: MAIL FROM and RCPT TO policy, then DATA
// relayed upstream with the client's 250 given only after the upstream's 250.
import { context, INVALID_SPAN_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { endSpan, sessionSpans, tracer } from "../observability/tracing.ts";
import { countUserMessage } from "../observability/user-metrics.ts";
import { isValidMailbox } from "../policy/address.ts";
import { headerFrom } from "../policy/header-from.ts";
import { maySendAs } from "../policy/senders.ts";
import { normalizeLineEndings } from "../relay/data-payload.ts";
import type { AuthenticatedUser } from "./auth-command.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import { receivedHeader } from "./received-header.ts";
import { abortRelay, beginRelay, recordRelayFailure, relayMessage, relayRecipient } from "./relay-session.ts";
import { Replies, type SmtpReply, smtpError } from "./replies.ts";

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

/** Sender patterns the session may use, including those of an RFC 4954 §5 `AUTH=` identity the
 *  user is allowed to submit for; any other `AUTH=` value is treated as `AUTH=<>` (ignored). */
function senderPatterns(rt: ListenerRuntime, user: AuthenticatedUser, authParam: unknown): string[] {
  const record = rt.lookupUser(identityOf(user));
  if (!record) return [];
  const patterns = [...record.senders];
  if (typeof authParam === "string" && authParam !== "<>") {
    const onBehalfOf = authParam.replace(/^<(.*)>$/, "$1").toLowerCase();
    const allowed = record.authorizeFor.some((a) => a.toLowerCase() === onBehalfOf);
    if (allowed) patterns.push(...(rt.lookupUser(onBehalfOf)?.senders ?? []));
  }
  return patterns;
}

function rateLimitOf(rt: ListenerRuntime, user: AuthenticatedUser) {
  return rt.lookupUser(identityOf(user))?.rateLimit ?? rt.config().policy.rateLimit;
}

function rateLimited(retryAfterSeconds: number, what: string): SmtpReply {
  return {
    code: 451,
    enhanced: "4.7.1",
    text: `${what} rate limit exceeded, retry after ${retryAfterSeconds} seconds`,
  };
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
  abortRelay(session); // a new MAIL FROM ends whatever the client left open (RSET has no hook)
  const user = authenticatedUser(session);
  if (!user) return done(); // relay-port without AUTH: refused at RCPT, as RFC 5321 relaying is
  if (!isValidMailbox(address.address)) return reject(rt, "sender_syntax", Replies.badSender, done);
  const patterns = senderPatterns(rt, user, address.args ? address.args.AUTH : undefined);
  senderPatternsBySession.set(session, patterns);
  if (rt.config().policy.senderAlignment !== "header" && !maySendAs(patterns, address.address)) {
    return reject(rt, "sender_not_owned", Replies.senderNotOwned, done);
  }
  const limit = rateLimitOf(rt, user);
  const verdict = limit ? rt.limiter.checkMessage(identityOf(user), limit) : { ok: true as const };
  if (!verdict.ok)
    return reject(rt, "rate_limit_messages", rateLimited(verdict.retryAfterSeconds, "Message"), done);
  const size = Number(address.args ? address.args.SIZE : undefined);
  beginRelay(rt, session, address.address, Number.isSafeInteger(size) ? size : undefined).then(
    (refusal) => done(refusal ? smtpError(refusal) : null),
    (err: unknown) => done(err as Error),
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
  if (session.envelope.rcptTo.length >= rt.config().limits.maxRecipients) {
    return reject(rt, "too_many_recipients", Replies.tooManyRecipients, done);
  }
  const user = authenticatedUser(session) as AuthenticatedUser;
  const limit = rateLimitOf(rt, user);
  const pending = session.envelope.rcptTo.length;
  const verdict = limit ? rt.limiter.checkRecipient(identityOf(user), limit, pending) : { ok: true as const };
  if (!verdict.ok) {
    return reject(rt, "rate_limit_recipients", rateLimited(verdict.retryAfterSeconds, "Recipient"), done);
  }
  relayRecipient(rt, session, address.address).then(
    (refusal) => done(refusal ? smtpError(refusal) : null),
    (err: unknown) => done(err as Error),
  );
}

/** Per-session sender patterns, computed once at MAIL FROM for the header check at DATA. */
const senderPatternsBySession = new WeakMap<SMTPServerSession, string[]>();

function headerMisalignment(
  rt: ListenerRuntime,
  session: SMTPServerSession,
  body: Buffer,
): SmtpReply | undefined {
  if (!authenticatedUser(session) || rt.config().policy.senderAlignment === "envelope") return undefined;
  const from = headerFrom(body);
  if (!from.ok) return Replies.headerFromInvalid;
  const patterns = senderPatternsBySession.get(session) ?? [];
  return from.addresses.every((a) => maySendAs(patterns, a)) ? undefined : Replies.headerFromNotOwned;
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
    abortRelay(session);
    done(err);
  });
  stream.once("end", () => {
    if (stream.sizeExceeded) {
      abortRelay(session);
      rt.metrics.messages.inc({ result: "rejected", reason: "size" });
      return reject(rt, "message_size", Replies.messageTooBig, done);
    }
    // Normalised before any check, so the header the policy reads is the header the upstream gets.
    const body = normalizeLineEndings(Buffer.concat(chunks));
    const misaligned = headerMisalignment(rt, session, body);
    if (misaligned) {
      abortRelay(session);
      rt.metrics.messages.inc({ result: "rejected", reason: "header_from" });
      return reject(rt, "header_from", misaligned, done);
    }
    rt.drain.relaying.add(session);
    relay(rt, body, session)
      .then(
        (reply) => done(reply.code < 300 ? null : smtpError(reply), reply.text),
        (err: unknown) => done(err as Error),
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
    const user = authenticatedUser(session);
    if (user) rt.limiter.record(identityOf(user), session.envelope.rcptTo.length);
    return { code: 250, enhanced: "2.6.0", text: `Ok: relayed as ${session.id}` };
  }
  recordRelayFailure(rt, session, outcome);
  return outcome.reply;
}
