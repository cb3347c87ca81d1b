// The client session's upstream transaction, kept beside the smtp-server session: opened at MAIL
// FROM, asked at each RCPT, handed the message at DATA, abandoned otherwise — on RSET, EHLO/HELO
// and STARTTLS (PosternConnection), at the next MAIL FROM, or when the connection closes.
import type { SMTPServerSession } from "smtp-server";
import { sessionSpans, traceFields } from "../observability/tracing.ts";
import { countUserMessage } from "../observability/user-metrics.ts";
import type { UpstreamStep, UpstreamTransaction } from "../relay/upstream-api.ts";
import type { UpstreamFailure } from "../relay/upstream-reply.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import type { SmtpReply } from "./replies.ts";

const transactions = new WeakMap<SMTPServerSession, UpstreamTransaction>();
/** Sessions whose connection closed: a transaction opened for one after that is abandoned at once. */
const closedSessions = new WeakSet<SMTPServerSession>();

const noTransaction: UpstreamFailure = {
  reply: { code: 451, enhanced: "4.3.0", text: "No upstream transaction, start again with MAIL FROM" },
  codeClass: "network",
  detail: "no upstream transaction for this session",
};

/** Counts and logs an upstream failure that ends the client's transaction (at MAIL or DATA). */
export function recordRelayFailure(
  rt: ListenerRuntime,
  session: SMTPServerSession,
  failure: UpstreamFailure,
) {
  rt.metrics.relay.inc({ result: "failed", code_class: failure.codeClass });
  const result = failure.reply.code >= 500 ? "rejected" : "deferred";
  rt.metrics.messages.inc({ result, reason: `upstream_${failure.codeClass}` });
  countUserMessage(rt, session, result);
  rt.logger.warn(
    {
      cid: session.id,
      reply: failure.reply,
      detail: failure.detail,
      ...traceFields(sessionSpans.get(session)),
    },
    "upstream refused or unreachable",
  );
}

/** MAIL FROM: opens the upstream transaction; resolves to the refusal for the client, if any. */
export async function beginRelay(
  rt: ListenerRuntime,
  session: SMTPServerSession,
  from: string,
  size: number | undefined,
): Promise<SmtpReply | undefined> {
  abortRelay(session);
  const result = await rt.relay().begin(from, { size });
  if (!result.ok) {
    recordRelayFailure(rt, session, result);
    return result.reply;
  }
  if (closedSessions.has(session)) result.tx.abort();
  else transactions.set(session, result.tx);
  return undefined;
}

/** RCPT TO: the upstream's verdict on one recipient; resolves to the refusal, if any. */
export async function relayRecipient(
  rt: ListenerRuntime,
  session: SMTPServerSession,
  to: string,
): Promise<SmtpReply | undefined> {
  const tx = transactions.get(session);
  const step = tx ? await tx.rcpt(to) : ({ ok: false, ...noTransaction } as const);
  if (step.ok) return undefined;
  // Logged, not counted in postern_relay_total: that counts hand-offs (one per transaction), and a
  // refused recipient is most often the sender's typo, not upstream trouble.
  rt.logger.info({ cid: session.id, reply: step.reply, detail: step.detail }, "upstream refused a recipient");
  return step.reply;
}

/** DATA: hands the message over; the upstream transaction ends with the upstream's final reply. */
export async function relayMessage(session: SMTPServerSession, message: Buffer): Promise<UpstreamStep> {
  const tx = transactions.get(session);
  transactions.delete(session);
  return tx ? tx.data(message) : { ok: false, ...noTransaction };
}

/** The client's transaction ended without DATA reaching the upstream (policy refusal, RSET, ...). */
export function abortRelay(session: SMTPServerSession): void {
  transactions.get(session)?.abort();
  transactions.delete(session);
}

/** The client connection closed. */
export function closeRelaySession(session: SMTPServerSession): void {
  closedSessions.add(session);
  abortRelay(session);
}
