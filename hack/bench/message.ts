// The benchmark's message: a plain-text RFC 5322 message of an exact size, so every server under test
// receives the same bytes per message and "4 KB messages" means exactly that.

export interface MessageSpec {
  /** The header From address; the benchmark sends as the authenticated user. */
  from: string;
  to: string;
  /** Without angle brackets. */
  messageId: string;
  date: Date;
  /** Total size in octets, CRLFs included. */
  size: number;
}

// Mail clients wrap text at 76 characters; RFC 5322 §2.1.1 recommends at most 78.
const LINE_LENGTH = 76;
const WORDS = (
  "the quarterly report is attached as discussed in this morning's meeting please review the " +
  "figures for the northern region before friday and let me know whether the revised forecast " +
  "still holds after the supplier change we also need to confirm the dates for the next review"
).split(" ");

/** `Tue, 28 Nov 2025 08:06:00 +0000`: RFC 5322 §3.3 date-time (toUTCString's "GMT" is obsolete syntax). */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

function header(spec: MessageSpec): string {
  return [
    `Date: ${rfc5322Date(spec.date)}`,
    `From: Benchmark Sender <${spec.from}>`,
    `To: <${spec.to}>`,
    "Subject: Quarterly report for review",
    `Message-ID: <${spec.messageId}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
    "",
    "",
  ].join("\r\n");
}

/** Word-wrapped text lines, endlessly. */
function* textLines(): Generator<string> {
  let line = "";
  for (let i = 0; ; i++) {
    const word = WORDS[i % WORDS.length] as string;
    if (line.length + 1 + word.length > LINE_LENGTH) {
      yield line;
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
}

/** A body of exactly `length` octets (at least 2): CRLF-terminated lines of at most 77 characters. */
function body(length: number): string {
  const lines: string[] = [];
  let remaining = length;
  for (const line of textLines()) {
    // A full line when another (at least an empty one) still fits after it; otherwise the last line is
    // cut, or ends with a full stop, to take exactly the room left.
    const text = line.length + 4 <= remaining ? line : `${line}.`.slice(0, remaining - 2);
    lines.push(`${text}\r\n`);
    remaining -= text.length + 2;
    if (remaining === 0) break;
  }
  return lines.join("");
}

// Bodies by length. Only the headers differ between the load generator's messages, and only a few
// lengths occur, so each body is built once: composing must not cost the load generator the CPU the
// server under test needs on a small machine.
const bodies = new Map<number, string>();

/** The message as octets, exactly `spec.size` long; throws a RangeError when the headers alone do not fit. */
export function composeMessage(spec: MessageSpec): Buffer {
  const head = header(spec);
  const length = spec.size - Buffer.byteLength(head, "latin1");
  if (length < 2) throw new RangeError(`size ${spec.size} is too small for the message headers`);
  let text = bodies.get(length);
  if (text === undefined) {
    text = body(length);
    if (bodies.size < 64) bodies.set(length, text);
  }
  return Buffer.from(head + text, "latin1");
}
