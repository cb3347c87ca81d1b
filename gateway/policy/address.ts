// Envelope address validation (RFC 5321 §4.1.2 Mailbox), narrowed for a submission gateway: no
// quoted local parts, no source routes, no `%` or `!` (the percent hack and bang paths that turned
// old relays into open relays), one `@`, ASCII only (SMTPUTF8 is not offered), RFC 5321 §4.5.3.1
// length limits. Anything the upstream could read as "relay this elsewhere" is refused here.

const LOCAL_PART = /^[A-Za-z0-9#$&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9#$&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const IPV4_LITERAL = /^\[(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\]$/;

function isDomain(domain: string): boolean {
  const literal = IPV4_LITERAL.exec(domain);
  if (literal) return literal.slice(1).every((octet) => Number(octet) <= 255);
  const labels = domain.split(".");
  return domain.length <= 255 && labels.length >= 2 && labels.every((label) => LABEL.test(label));
}

export function isValidMailbox(address: string): boolean {
  const at = address.indexOf("@");
  if (at <= 0 || at !== address.lastIndexOf("@")) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  // 256-octet path limit less the angle brackets (RFC 5321 §4.5.3.1.3).
  return address.length <= 254 && local.length <= 64 && LOCAL_PART.test(local) && isDomain(domain);
}
