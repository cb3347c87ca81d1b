// The ESMTP parameters a client may put on MAIL FROM and RCPT TO: exactly those of the extensions EHLO
// advertises. SIZE (RFC 1870), BODY (RFC 6152, 8BITMIME) and AUTH (RFC 4954 §5) on MAIL; none on RCPT.
// Anything else — SMTPUTF8, REQUIRETLS, DSN's RET, ENVID, NOTIFY, ORCPT, or a name nobody knows — asks
// for something this gateway would not do, so it is refused (555 5.5.4, RFC 5321 §4.1.1.11) instead of
// accepted and silently dropped: a client that asked for REQUIRETLS must not believe it got it.

export const MAIL_PARAMETERS: ReadonlySet<string> = new Set(["SIZE", "BODY", "AUTH"]);
export const RCPT_PARAMETERS: ReadonlySet<string> = new Set();

/** The first parameter of `args` (smtp-server's parsed parameters, upper-case names) not in `allowed`. */
export function unadvertisedParameter(
  args: Record<string, unknown> | false | undefined,
  allowed: ReadonlySet<string>,
): string | undefined {
  return Object.keys(args || {}).find((name) => !allowed.has(name.toUpperCase()));
}

/** The BODY type declared on MAIL FROM, as the upstream is told it (RFC 6152: 7BIT or 8BITMIME). */
export function bodyType(args: Record<string, unknown> | false | undefined): "7BIT" | "8BITMIME" | undefined {
  const body = args ? args.BODY : undefined;
  if (typeof body !== "string") return undefined;
  const upper = body.toUpperCase();
  return upper === "7BIT" || upper === "8BITMIME" ? upper : undefined;
}
