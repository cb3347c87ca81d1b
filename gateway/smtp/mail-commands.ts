// MAIL FROM, RCPT TO and DATA as smtp-server hands them over: the policy checks that decide whether a
// transaction may start or go on, then the connection's Transaction (transaction.ts) does the rest.
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { isValidMailbox } from "../policy/address.ts";
import { chargesOf, checkCharges } from "../policy/charges.ts";
import { maySendAs } from "../policy/senders.ts";
import type { AuthenticatedUser } from "./auth-command.ts";
import type { ListenerRuntime } from "./listener-runtime.ts";
import { bodyType, MAIL_PARAMETERS, RCPT_PARAMETERS, unadvertisedParameter } from "./mail-parameters.ts";
import { logMessage } from "./message-log.ts";
import { Replies, type SmtpReply, smtpError } from "./replies.ts";
import { senderPatterns, sendingAccount } from "./sender-account.ts";
import { Transaction, type TransactionClient } from "./transaction.ts";
import { activeTransactions } from "./transaction-state.ts";

type Done = (err?: Error | null, message?: string) => void;

/** The connection as the mail commands need it (PosternConnection). */
export interface MailConnection {
  readonly session: SMTPServerSession;
  /** The open transaction, if any; the connection aborts it on RSET, EHLO, STARTTLS and close. */
  transaction: Transaction | undefined;
  readonly closed: boolean;
  transactionClient(): TransactionClient;
}

function authenticatedUser(session: SMTPServerSession): AuthenticatedUser | undefined {
  return session.user ? (session.user as AuthenticatedUser) : undefined;
}

function rateLimited(retryAfterSeconds: number, what: string): SmtpReply {
  return {
    code: 451,
    enhanced: "4.7.1",
    text: `${what} rate limit exceeded, retry after ${retryAfterSeconds} seconds`,
  };
}

export function onMailFrom(
  rt: ListenerRuntime,
  conn: MailConnection,
  address: SMTPServerAddress,
  done: Done,
) {
  const { session } = conn;
  // A parameter of an extension EHLO did not advertise: refused, never silently dropped.
  if (unadvertisedParameter(address.args, MAIL_PARAMETERS) !== undefined) {
    rt.metrics.policyRejections.inc({ reason: "unsupported_parameter" });
    return done(smtpError(Replies.parameterNotSupported));
  }
  // A refusal here ends a message before it started: counted, and logged like any refused message.
  const reject = (reason: string, reply: SmtpReply) => {
    rt.metrics.policyRejections.inc({ reason });
    rt.metrics.messages.inc({ result: reply.code >= 500 ? "rejected" : "deferred", reason });
    logMessage(rt.logger, {
      id: session.id,
      client: session.remoteAddress,
      user: authenticatedUser(session)?.username,
      sender: address.address,
      recipients: 0,
      size: undefined,
      reply,
      upstreamReply: undefined,
      reason,
    });
    done(smtpError(reply));
  };
  if (rt.listener.mode === "starttls" && rt.tlsAvailable && !session.secure) {
    // RFC 3207 §4: the submission port with a certificate never carries mail in the clear (a
    // SCRAM login needs no TLS, the message it then sends does).
    return reject("tls_required", Replies.tlsRequired);
  }
  conn.transaction?.abort(); // a new MAIL FROM ends whatever the client left open
  conn.transaction = undefined;
  const user = authenticatedUser(session);
  if (!user) return done(); // relay-port without AUTH: refused at RCPT, as RFC 5321 relaying is
  const lookup = (username: string) => rt.lookupUser(username);
  const accounts = sendingAccount(lookup, user, session.remoteAddress);
  if (!accounts) return reject("account_disabled", Replies.accountNotAllowed);
  const account = accounts.identity;
  if (!isValidMailbox(address.address)) return reject("sender_syntax", Replies.badSender);
  const config = rt.config();
  const patterns = senderPatterns(lookup, account, address.args ? address.args.AUTH : undefined);
  const alignment = config.policy.senderAlignment;
  if (alignment !== "header" && !maySendAs(patterns, address.address)) {
    return reject("sender_not_owned", Replies.senderNotOwned);
  }
  // Counted against the login and the identity it acts for, each once (policy/charges.ts).
  const charges = chargesOf(accounts.login, accounts.identity, config.policy.rateLimit);
  if (charges.some((c) => activeTransactions(c.key) >= config.limits.maxTransactionsPerUser)) {
    return reject("concurrent_transactions", Replies.tooManyTransactions);
  }
  const verdict = checkCharges(charges, (key, limit) => rt.limiter.checkMessage(key, limit));
  if (!verdict.ok) {
    return reject("rate_limit_messages", rateLimited(verdict.retryAfterSeconds, "Message"));
  }
  const size = Number(address.args ? address.args.SIZE : undefined);
  const plan = {
    owner: account.username,
    loginKey: charges[0]?.key ?? account.username,
    sender: address.address,
    patterns,
    alignment,
    charges,
    declaredSize: Number.isSafeInteger(size) ? size : undefined,
    body: bodyType(address.args),
  };
  Transaction.open(rt, conn.transactionClient(), plan).then(
    (opened) => {
      if (!opened.ok) return done(smtpError(opened.reply));
      if (conn.closed)
        opened.tx.abort(); // the client went away while the upstream answered
      else conn.transaction = opened.tx;
      done();
    },
    (err: unknown) => done(err as Error),
  );
}

export function onRcptTo(rt: ListenerRuntime, conn: MailConnection, address: SMTPServerAddress, done: Done) {
  const { session } = conn;
  const reject = (reason: string, reply: SmtpReply) => {
    rt.metrics.policyRejections.inc({ reason });
    done(smtpError(reply));
  };
  if (unadvertisedParameter(address.args, RCPT_PARAMETERS) !== undefined) {
    return reject("unsupported_parameter", Replies.parameterNotSupported);
  }
  // Every recipient is a relay: the gateway delivers nowhere locally. Without AUTH, never.
  if (!authenticatedUser(session)) return reject("relay_denied", Replies.relayDenied);
  if (!isValidMailbox(address.address)) return reject("recipient_syntax", Replies.badRecipient);
  const wanted = address.address.toLowerCase();
  // A repeated recipient is already on the upstream envelope; asking again would deliver twice.
  if (session.envelope.rcptTo.some((r) => r.address.toLowerCase() === wanted)) return done();
  if (session.envelope.rcptTo.length >= rt.config().limits.maxRecipients) {
    return reject("too_many_recipients", Replies.tooManyRecipients);
  }
  const tx = conn.transaction;
  if (!tx) return done(smtpError(Replies.noTransaction));
  const verdict = checkCharges(tx.plan.charges, (key, limit) => rt.limiter.checkRecipient(key, limit, 0));
  if (!verdict.ok) {
    return reject("rate_limit_recipients", rateLimited(verdict.retryAfterSeconds, "Recipient"));
  }
  tx.addRecipient(address.address).then(
    (refusal) => done(refusal ? smtpError(refusal) : null),
    (err: unknown) => done(err as Error),
  );
}

export function onData(conn: MailConnection, stream: SMTPServerDataStream, done: Done) {
  const tx = conn.transaction;
  if (!tx) {
    stream.resume();
    return done(smtpError(Replies.noTransaction));
  }
  tx.deliver(stream).then(
    (reply) => done(reply.code < 300 ? null : smtpError(reply), `${reply.enhanced} ${reply.text}`),
    (err: unknown) => done(err as Error),
  );
}
