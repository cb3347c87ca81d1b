// Maps what went wrong upstream to the reply the client gets. The rule that keeps mail safe: only a
// definite upstream 5xx to the message's own commands (MAIL, RCPT, DATA) reaches the client as a
// 5xx; everything else — timeouts, lost connections, TLS and AUTH trouble between the gateway and
// its upstream — becomes a 4xx, so the client keeps the message and retries (the client's queue is
// Postern's queue) and a gateway misconfiguration never bounces users' mail.
import type { SmtpReply } from "../smtp/replies.ts";

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})$/;

/** Keeps printable ASCII only: upstream text is echoed to the client and must not split a reply. */
function sanitize(text: string): string {
  return text
    .replace(/[^\x20-\x7e]+/g, " ")
    .trim()
    .slice(0, 400);
}

export interface UpstreamFailure {
  reply: SmtpReply;
  /** For the relay metric: the upstream's reply class, or "network" when it never answered. */
  codeClass: "4xx" | "5xx" | "network";
  /** What happened, for the gateway's log (never sent to the client, never holds a secret). */
  detail?: string | undefined;
  /** The upstream's own reply to the message's command, as it sent it (printable ASCII only). */
  upstreamReply?: string | undefined;
}

/** An upstream reply to MAIL, RCPT or DATA: `code` and the text after it (all lines, joined). */
export interface UpstreamReplyText {
  code: number;
  text: string;
}

const classOf = (code: number): UpstreamFailure["codeClass"] => (code >= 500 ? "5xx" : "4xx");

/**
 * A refusal of the message's own commands, passed through with the upstream's code, enhanced code
 * and text ("550 5.1.1 <x>: Recipient address rejected" stays exactly that, prefixed "Upstream:").
 * Two codes are not about the message and become 451: 421 (the upstream is closing the connection;
 * passed on it would close the client's, which did nothing wrong) and 530 (the upstream wants the
 * gateway to authenticate: a gateway misconfiguration).
 */
export function failureFromUpstreamReply(reply: UpstreamReplyText): UpstreamFailure {
  const words = sanitize(reply.text).split(" ").filter(Boolean);
  const klass = String(Math.floor(reply.code / 100));
  const match = ENHANCED.exec(words[0] ?? "");
  const enhanced = match && match[1] === klass ? (words.shift() as string) : `${klass}.0.0`;
  const text = `Upstream: ${words.join(" ") || "refused"}`;
  const detail = `upstream replied ${reply.code} ${enhanced}`;
  const upstreamReply = sanitize(`${reply.code} ${reply.text}`);
  if (reply.code === 421) {
    return { reply: { code: 451, enhanced, text }, codeClass: "4xx", detail, upstreamReply };
  }
  if (reply.code === 530) {
    return {
      reply: {
        code: 451,
        enhanced: "4.7.0",
        text: "Upstream relay requires authentication, try again later",
      },
      codeClass: "5xx",
      detail: "upstream requires AUTH but none is configured (upstream.auth)",
      upstreamReply,
    };
  }
  return {
    reply: { code: reply.code, enhanced, text },
    codeClass: classOf(reply.code),
    detail,
    upstreamReply,
  };
}

/** What the upstream client raises: a Node.js error code, or one of UpstreamConnection's. */
interface UpstreamError {
  code?: string | undefined;
  /** The upstream's reply when it refused a step of the connection set-up (greeting, AUTH, ...). */
  responseCode?: number | undefined;
  message?: string | undefined;
}

/** Any failure that is not a reply to the message's own commands: always a 4xx. */
export function failureFromUpstreamError(err: UpstreamError): UpstreamFailure {
  const codeClass = err.responseCode !== undefined ? classOf(err.responseCode) : "network";
  const detail = err.message;
  switch (err.code) {
    case "ETIMEDOUT":
      return {
        reply: { code: 451, enhanced: "4.4.2", text: "Upstream relay timed out, try again later" },
        codeClass,
        detail,
      };
    case "EAUTH":
      return {
        reply: {
          code: 451,
          enhanced: "4.7.0",
          text: "Upstream relay authentication failed, try again later",
        },
        codeClass,
        detail,
      };
    case "ETLS":
      return {
        reply: { code: 451, enhanced: "4.7.0", text: "Upstream relay TLS failed, try again later" },
        codeClass,
        detail,
      };
    default:
      return {
        reply: { code: 451, enhanced: "4.4.1", text: "Upstream relay unavailable, try again later" },
        codeClass,
        detail,
      };
  }
}
