// The message as it goes on the wire after DATA (RFC 5321 §4.5.2), encoded as it streams through, so
// a transaction holds one chunk at a time, never the whole message. Every line ending becomes CRLF —
// a bare CR or LF never leaves the gateway, whatever the client sent (SMTP smuggling: a lone
// "\n.\n" that one server reads as end-of-data and another as text) — every line starting with "."
// gets one more, and the end-of-data line follows only once the whole message went through.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Whether every CR is followed by LF and every LF follows a CR within `data` (native searches, so a
 *  well-formed chunk, the usual case, is checked without being copied). */
function onlyCrlf(data: Buffer): boolean {
  for (let i = data.indexOf(CR); i !== -1; i = data.indexOf(CR, i + 1)) if (data[i + 1] !== LF) return false;
  for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, i + 1)) if (data[i - 1] !== CR) return false;
  return true;
}

/**
 * Encodes one message chunk by chunk. The state carried between chunks is one held-back CR (it may
 * be the first half of a CRLF split across chunks) and whether the next byte starts a line.
 */
export class DataEncoder {
  #heldCr = false;
  #atLineStart = true;

  /** The wire form of `chunk`; the chunk itself when nothing in it needs changing. */
  encode(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const last = chunk[chunk.length - 1];
    if (
      !this.#heldCr &&
      last !== CR &&
      !(this.#atLineStart && chunk[0] === DOT) &&
      chunk.indexOf("\n.") === -1 &&
      onlyCrlf(chunk)
    ) {
      this.#atLineStart = last === LF;
      return chunk;
    }
    // latin1 maps every byte to one code unit and back, so 8-bit content passes unchanged.
    let text = (this.#heldCr ? "\r" : "") + chunk.toString("latin1");
    this.#heldCr = text.endsWith("\r");
    if (this.#heldCr) text = text.slice(0, -1);
    text = text.replace(/\r\n|\r|\n/g, "\r\n");
    if (this.#atLineStart && text.startsWith(".")) text = `.${text}`;
    text = text.replace(/\r\n\./g, "\r\n..");
    if (text.length > 0) this.#atLineStart = text.endsWith("\r\n");
    return Buffer.from(text, "latin1");
  }

  /** What closes the message: the line ending of an open last line, and the end-of-data line. */
  end(): Buffer {
    const open = this.#heldCr || !this.#atLineStart;
    return Buffer.from(open ? "\r\n.\r\n" : ".\r\n", "latin1");
  }
}

/** The wire form of a whole message, chunk by chunk; the end-of-data line comes only after the
 *  source ended normally (a source that throws never produces it). */
export async function* encodeMessage(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const encoder = new DataEncoder();
  for await (const chunk of source) {
    const encoded = encoder.encode(chunk);
    if (encoded.length > 0) yield encoded;
  }
  yield encoder.end();
}
