// The SMTP replies Postern sends for authentication and transaction policy, in one place so the exact
// codes (RFC 4954 §6, RFC 3463 enhanced codes, RFC 5248) are reviewed together and tests can import them.

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code; omitted on 3xx continuation replies. */
  enhanced?: string;
  text: string;
}

export const Replies = {
  authSucceeded: { code: 235, enhanced: "2.7.0", text: "Authentication successful" },
  authFailed: { code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid" },
  authRequired: { code: 530, enhanced: "5.7.0", text: "Authentication required" },
  encryptionRequired: {
    code: 538,
    enhanced: "5.7.11",
    text: "Encryption required for requested authentication mechanism",
  },
  mechanismTooWeak: { code: 534, enhanced: "5.7.9", text: "Authentication mechanism is too weak" },
  authTemporaryFailure: { code: 454, enhanced: "4.7.0", text: "Temporary authentication failure" },
  authLineTooLong: { code: 500, enhanced: "5.5.6", text: "Authentication Exchange line is too long" },
  authCancelled: { code: 501, enhanced: "5.7.0", text: "Authentication cancelled" },
  authBadBase64: { code: 501, enhanced: "5.5.2", text: "Cannot decode response" },
  authMalformed: { code: 501, enhanced: "5.5.2", text: "Malformed authentication response" },
  authSyntax: { code: 501, enhanced: "5.5.4", text: "Syntax: AUTH mechanism [initial-response]" },
  alreadyAuthenticated: { code: 503, enhanced: "5.5.1", text: "Already authenticated" },
  authInTransaction: { code: 503, enhanced: "5.5.1", text: "AUTH not permitted during a mail transaction" },
  unknownMechanism: { code: 504, enhanced: "5.5.4", text: "Unrecognized authentication mechanism" },
  parameterNotSupported: {
    code: 555,
    enhanced: "5.5.4",
    text: "MAIL FROM/RCPT TO parameters not recognized or not implemented",
  },
  tooManyAuthFailures: {
    code: 421,
    enhanced: "4.7.0",
    text: "Too many authentication failures, closing connection",
  },
  shuttingDown: { code: 421, enhanced: "4.3.2", text: "Service shutting down, try again later" },
  authLockedOut: {
    code: 454,
    enhanced: "4.7.0",
    text: "Too many recent authentication failures, try again later",
  },
  // Mail transaction policy.
  tlsRequired: { code: 530, enhanced: "5.7.0", text: "Must issue a STARTTLS command first" },
  headerFromNotOwned: {
    code: 550,
    enhanced: "5.7.1",
    text: "From header address not owned by authenticated user",
  },
  headerFromInvalid: {
    code: 550,
    enhanced: "5.6.0",
    text: "Message header needs at most one From field, naming its addresses unambiguously",
  },
  relayDenied: { code: 554, enhanced: "5.7.1", text: "Relay access denied: authenticate first" },
  badSender: { code: 553, enhanced: "5.1.7", text: "Bad sender address syntax" },
  senderNotOwned: { code: 553, enhanced: "5.7.1", text: "Sender address not owned by authenticated user" },
  badRecipient: { code: 553, enhanced: "5.1.3", text: "Bad recipient address syntax" },
  tooManyRecipients: { code: 452, enhanced: "4.5.3", text: "Too many recipients" },
  accountNotAllowed: {
    code: 550,
    enhanced: "5.7.1",
    text: "Authenticated user is no longer allowed to send",
  },
  tooManyTransactions: {
    code: 451,
    enhanced: "4.7.1",
    text: "Too many concurrent transactions for this user, try again",
  },
  noTransaction: {
    code: 451,
    enhanced: "4.3.0",
    text: "No upstream transaction, start again with MAIL FROM",
  },
  nulInMessage: { code: 554, enhanced: "5.6.0", text: "Message contains NUL characters" },
  messageTooBig: { code: 552, enhanced: "5.3.4", text: "Message size exceeds fixed maximum message size" },
} as const satisfies Record<string, SmtpReply>;

/** An Error smtp-server turns into exactly this reply. */
export function smtpError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.enhanced ? `${reply.enhanced} ${reply.text}` : reply.text), {
    responseCode: reply.code,
  });
}
