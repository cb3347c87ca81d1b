// The message as it goes on the wire after DATA (RFC 5321 §4.5.2). Every line ending becomes CRLF —
// a bare CR or LF never leaves the gateway, whatever the client sent (SMTP smuggling: a lone
// "\n.\n" that one server reads as end-of-data and another as text) — every line starting with "."
// gets one more, and the end-of-data line follows.

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from(".\r\n");

/** Whether every CR is followed by LF and every LF follows a CR (found with native searches, so a
 *  well-formed message, the usual case, is checked without being copied). */
function onlyCrlf(data: Buffer): boolean {
  for (let i = data.indexOf(CR); i !== -1; i = data.indexOf(CR, i + 1)) if (data[i + 1] !== LF) return false;
  for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, i + 1)) if (data[i - 1] !== CR) return false;
  return true;
}

/** Bare CR or LF becomes CRLF. */
export function normalizeLineEndings(data: Buffer): Buffer {
  if (onlyCrlf(data)) return data;
  // latin1 maps every byte to one code unit and back, so 8-bit content passes unchanged.
  return Buffer.from(data.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
}

/** Normalised, dot-stuffed and terminated with `.` CRLF; a last line without CRLF gets one. */
export function dataPayload(message: Buffer): Buffer {
  const normalized = normalizeLineEndings(message);
  const needsStuffing = normalized[0] === 0x2e || normalized.includes("\r\n.");
  const body = needsStuffing
    ? Buffer.from(normalized.toString("latin1").replace(/(^|\r\n)\./g, "$1.."), "latin1")
    : normalized;
  const open = body.length > 0 && !(body[body.length - 2] === CR && body[body.length - 1] === LF);
  return Buffer.concat(open ? [body, CRLF, END_OF_DATA] : [body, END_OF_DATA]);
}
