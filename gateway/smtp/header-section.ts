// The header section at the start of a message stream: what sender alignment reads before a byte
// goes upstream. Only the header is held; the body streams through afterwards.

/** Past this the header section is not a real message's (headerFrom refuses it as too large). */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** Whether `head` holds a complete header section: a blank line, with any line ending counted as
 *  the upstream will see it (a bare CR or LF becomes CRLF on the wire). */
export function headerComplete(head: Buffer): boolean {
  const text = head.toString("latin1").replace(/\r\n|\r|\n/g, "\n");
  return text.startsWith("\n") || text.includes("\n\n");
}

/**
 * Reads chunks from `chunks` until the header section is complete, the stream ends or
 * MAX_HEADER_BYTES were read. Resolves with what was read (header and perhaps the start of the
 * body) and whether the stream is over.
 */
export async function readHeaderSection(
  chunks: AsyncIterator<Buffer>,
): Promise<{ head: Buffer; ended: boolean }> {
  const read: Buffer[] = [];
  let length = 0;
  for (;;) {
    const next = await chunks.next();
    if (next.done) return { head: Buffer.concat(read, length), ended: true };
    read.push(next.value);
    length += next.value.length;
    const head = Buffer.concat(read, length);
    if (length >= MAX_HEADER_BYTES || headerComplete(head)) return { head, ended: false };
    read.splice(0, read.length, head);
  }
}
