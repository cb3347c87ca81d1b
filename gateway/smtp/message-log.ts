// One structured log line per message the gateway relayed or refused: who sent it from where, to how
// many, how big, what the client was told and what the upstream said (with its queue id, to follow
// the message into the upstream's own logs). The keys come in a fixed order, `event` and `result`
// first and the client address third, so a fail2ban or CrowdSec pattern over the JSON line needs no
// custom parser (see docs/logging.md).
import type { Logger } from "pino";
import type { SmtpReply } from "./replies.ts";

export type MessageResult = "relayed" | "rejected" | "deferred";

export interface MessageOutcome {
  /** smtp-server's session id; the Received header and the client's 250 carry it too. */
  id: string;
  client: string;
  /** The authenticated login, when there is one. */
  user: string | undefined;
  sender: string;
  recipients: number;
  /** Octets received from the client (the SIZE it declared, for a refusal before DATA). */
  size: number | undefined;
  /** What the client was told. */
  reply: SmtpReply;
  /** The upstream's own reply, when it gave one. */
  upstreamReply: string | undefined;
  /** Why a message was not relayed: a policy reason or `upstream_<class>`; `relayed` otherwise. */
  reason: string;
}

/** The result a client reply stands for: 2xx relayed, 4xx deferred (the client retries), 5xx rejected. */
export function resultOf(reply: SmtpReply): MessageResult {
  if (reply.code < 400) return "relayed";
  return reply.code < 500 ? "deferred" : "rejected";
}

/** The queue id in an upstream's 250: Postfix and sendmail's "queued as X", Exim's "id=X", Amazon
 *  SES and others' "Ok X". */
export function upstreamQueueId(reply: string | undefined): string | undefined {
  if (!reply) return undefined;
  const match =
    /\bqueued as <?([\w.@-]+?)>?(?:\s|$)/i.exec(reply) ??
    /\bid=([\w.-]+)/i.exec(reply) ??
    /^250 (?:2\.\d{1,3}\.\d{1,3} )?Ok ([\w.-]{8,})$/i.exec(reply);
  return match?.[1];
}

/** The log line's fields, in the order the documented filters rely on. */
export function messageLogFields(o: MessageOutcome) {
  const text = (r: SmtpReply) => `${r.code}${r.enhanced ? ` ${r.enhanced}` : ""} ${r.text}`;
  return {
    event: "message",
    result: resultOf(o.reply),
    client: o.client,
    user: o.user ?? null,
    sender: o.sender,
    recipients: o.recipients,
    size: o.size ?? null,
    reply: text(o.reply),
    upstreamReply: o.upstreamReply ?? null,
    queueId: upstreamQueueId(o.upstreamReply) ?? null,
    reason: o.reason,
    cid: o.id,
  };
}

export function logMessage(logger: Logger, outcome: MessageOutcome): void {
  const fields = messageLogFields(outcome);
  logger.info(fields, `message ${fields.result}`);
}
