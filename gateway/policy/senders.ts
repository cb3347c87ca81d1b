// Which addresses an authenticated user may send as: exact addresses or `*@domain` patterns from
// the user's record. Comparison is case-insensitive (domains always are; local parts are in every
// mailbox provider Postern relays to, and treating them otherwise only invites look-alike senders).

/** The domain of an address, or undefined when it is not a plain `local@domain` address. */
function domainOf(address: string): string | undefined {
  const at = address.indexOf("@");
  // Exactly one "@": "x@evil.com@example.test" must not pass as an example.test address.
  if (at <= 0 || at === address.length - 1 || at !== address.lastIndexOf("@")) return undefined;
  return address.slice(at + 1).toLowerCase();
}

export function maySendAs(patterns: readonly string[], address: string): boolean {
  const wanted = address.toLowerCase();
  const domain = domainOf(wanted);
  if (!domain) return false;
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith("*@") ? p.slice(2) === domain : p === wanted;
  });
}
