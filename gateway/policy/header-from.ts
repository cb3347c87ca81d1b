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

export function headerFrom(message: Buffer): HeaderFrom {
  const end = message.indexOf("\r\n\r\n");
  const header = message.subarray(0, end === -1 ? message.length : end).toString("latin1");
  const unfolded = header.replace(/\r\n(?=[ \t])/g, "");
  const fields = unfolded.split("\r\n").filter((line) => /^from[ \t]*:/i.test(line));
  if (fields.length === 0) return { ok: true, addresses: [] };
  if (fields.length > 1) return { ok: false, problem: "more than one From" };
  const value = (fields[0] ?? "").replace(/^from[ \t]*:/i, "");
  const addresses = flatten(addressparser(value) as ParsedAddress[]);
  return addresses.length > 0 ? { ok: true, addresses } : { ok: false, problem: "From has no address" };
}
