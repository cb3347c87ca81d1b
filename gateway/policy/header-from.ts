// The addresses in a message's From header (RFC 5322 §3.6.2), for sender alignment. Header parsing
// is nodemailer's address parser over the unfolded From field; the header block is found by hand
// because only the first blank line matters and the body must not be scanned.
import addressparser from "nodemailer/lib/addressparser";

/** `addresses` is empty when the message has no From field: then it claims no sender (RFC 6409
 *  §8 leaves adding one to the MSA; Postern adds nothing, the upstream may). */
export type HeaderFrom = { ok: true; addresses: string[] } | { ok: false; problem: string };

interface ParsedAddress {
  address?: string;
  group?: ParsedAddress[];
}

function flatten(list: ParsedAddress[]): string[] {
  return list.flatMap((a) => (a.group ? flatten(a.group) : a.address ? [a.address] : []));
}

/** Only the header section is read; one this large is not a real message's. */
const MAX_HEADER_BYTES = 1024 * 1024;

export function headerFrom(message: Buffer): HeaderFrom {
  // Any line ending counts (bare CR or LF too): the upstream gets every one of them as CRLF, so a
  // field hidden behind a bare LF here would be a real From field there.
  const text = message
    .subarray(0, MAX_HEADER_BYTES)
    .toString("latin1")
    .replace(/\r\n|\r|\n/g, "\n");
  const end = text.indexOf("\n\n");
  if (end === -1 && message.length > MAX_HEADER_BYTES)
    return { ok: false, problem: "header section too large" };
  const header = end === -1 ? text : text.slice(0, end);
  const unfolded = header.replace(/\n(?=[ \t])/g, "");
  const fields = unfolded.split("\n").filter((line) => /^from[ \t]*:/i.test(line));
  if (fields.length === 0) return { ok: true, addresses: [] };
  if (fields.length > 1) return { ok: false, problem: "more than one From" };
  const value = (fields[0] ?? "").replace(/^from[ \t]*:/i, "");
  const addresses = flatten(addressparser(value) as ParsedAddress[]);
  if (addresses.length === 0) return { ok: false, problem: "From has no address" };
  // The parser keeps one address where a field names two ("<a@x> <b@y>", "<a@x> b@y"); mail clients
  // and DMARC checkers disagree about which one such a field means, so it is refused, not guessed.
  const bare = value.replace(/"(?:[^"\\]|\\.)*"/g, "").replace(/\((?:[^()\\]|\\.)*\)/g, "");
  const ats = bare.split("@").length - 1;
  const angles = bare.split("<").length - 1;
  if (ats !== addresses.length || angles > addresses.length) return { ok: false, problem: "ambiguous From" };
  return { ok: true, addresses };
}
