// Maps what went wrong upstream to the reply the client gets. The rule that keeps mail safe: any
// failure that is not a definite upstream 5xx becomes a 4xx, so the client keeps the message and
// retries (the client's queue is Postern's queue).
import type { SmtpReply } from "../smtp/replies.ts";

interface UpstreamError {
  code?: string | undefined;
  responseCode?: number | undefined;
  response?: string | undefined;
  message?: string | undefined;
}

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
}

export function failureFromUpstreamError(err: UpstreamError): UpstreamFailure {
  const code = err.responseCode;
  if (code !== undefined && code >= 400 && code < 600) {
    // "550 5.1.1 <x>: Recipient address rejected" → keep code, enhanced code and text.
    const words = sanitize(err.response ?? "").split(" ");
    if (words[0] === String(code)) words.shift();
    const candidate = words[0] ?? "";
    const match = ENHANCED.exec(candidate);
    const klass = String(Math.floor(code / 100));
    const enhanced = match && match[1] === klass ? (words.shift() as string) : `${klass}.0.0`;
    return {
      reply: { code, enhanced, text: `Upstream: ${words.join(" ") || "refused"}` },
      codeClass: code >= 500 ? "5xx" : "4xx",
    };
  }
  if (err.code === "ETIMEDOUT") {
    return {
      reply: { code: 451, enhanced: "4.4.2", text: "Upstream relay timed out, try again later" },
      codeClass: "network",
    };
  }
  return {
    reply: { code: 451, enhanced: "4.4.1", text: "Upstream relay unavailable, try again later" },
    codeClass: "network",
  };
}
