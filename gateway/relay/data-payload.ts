// The message as it goes on the wire after DATA (RFC 5321 §4.5.2). Every line ending becomes CRLF —
// a bare CR or LF never leaves the gateway, whatever the client sent (SMTP smuggling: a lone
// "\n.\n" that one server reads as end-of-data and another as text) — every line starting with "."
// gets one more, and the end-of-data line follows.

/** Bare CR or LF becomes CRLF. */
export function normalizeLineEndings(data: Buffer): Buffer {
  if (!data.includes(0x0d) && !data.includes(0x0a)) return data;
  return Buffer.from(data.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
}

/** Normalised, dot-stuffed and terminated with `.` CRLF; a last line without CRLF gets one. */
export function dataPayload(message: Buffer): Buffer {
  // latin1 maps every byte to one code unit and back, so 8-bit content passes unchanged.
  let text = normalizeLineEndings(message)
    .toString("latin1")
    .replace(/(^|\r\n)\./g, "$1..");
  if (text.length > 0 && !text.endsWith("\r\n")) text += "\r\n";
  return Buffer.from(`${text}.\r\n`, "latin1");
}
