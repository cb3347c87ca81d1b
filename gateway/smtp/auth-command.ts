// The AUTH command (RFC 4954) as a driver around the SASL mechanisms: parses the command, enforces
// the session rules (TLS first, once per session, not inside a transaction), decodes base64, runs
// the mechanism's steps, and turns outcomes into the exact replies of gateway/smtp/replies.ts.
// It knows nothing about sockets: the connection hands it an AuthIO.
import type { PeerCertificate } from "node:tls";
import type { Logger } from "pino";
import type { AuthThrottle, PenaltyScope } from "../auth/throttle.ts";
import { AuthThrottled, throttledBackend } from "../auth/throttled-backend.ts";
import { logAuthFailure, logLockout } from "../observability/auth-log.ts";
import type { AuthResult, Metrics } from "../observability/metrics.ts";
import type { MechanismName, SaslBackend, SaslStep } from "../sasl/mechanism.ts";
import { MECHANISM_NAMES } from "../sasl/mechanism.ts";
import { MECHANISMS, offeredMechanisms } from "../sasl/registry.ts";
import { Replies, type SmtpReply } from "./replies.ts";

/** RFC 4954 §4 asks servers to accept 12,288 octets of initial response; leave headroom. */
export const MAX_AUTH_LINE = 16 * 1024;

export interface AuthenticatedUser {
  username: string;
  /** A different authorization identity the client asked for and was allowed to use. */
  authzid?: string | undefined;
  mechanism: MechanismName;
}

/** What `AuthIO.nextLine` rejects with once the connection is gone: the exchange just ends. */
export class ConnectionClosed extends Error {
  override name = "ConnectionClosed";
}

/** The connection as the driver sees it. */
export interface AuthIO {
  readonly secure: boolean;
  /** The listener can become secure (STARTTLS offered) — decides 538 versus 534. */
  readonly tlsAvailable: boolean;
  readonly remoteAddress: string;
  readonly clientCertificate?: PeerCertificate | undefined;
  readonly authenticated: boolean;
  readonly inTransaction: boolean;
  /** Failed exchanges on this connection so far; the driver increments it. */
  failures: number;
  reply(reply: SmtpReply): void;
  challenge(data: Buffer): void;
  /** The client's next line; rejects with ConnectionClosed if the connection closes first. */
  nextLine(): Promise<string>;
  succeed(user: AuthenticatedUser): void;
  /** Called after a 421 reply: the connection must go away. */
  close(): void;
}

export interface AuthSettings {
  enabled: readonly MechanismName[];
  serverName: string;
  backend: SaslBackend;
  throttle: AuthThrottle;
  maxFailuresPerConnection: number;
  failureDelayMs: number;
  /** Whether `username` may authenticate from `remoteAddress` (the user's allowed networks). */
  sourceAllowed: (username: string, remoteAddress: string) => boolean;
  metrics?: Metrics | undefined;
  /** Where failed logins and penalties are logged, one line each (observability/auth-log.ts). */
  logger?: Logger | undefined;
}

/** How an exchange that did not log in ended (the `result` label of postern_auth_attempts_total). */
type Outcome = Exclude<AuthResult, "success">;

/** The reason a failed exchange is logged with, by outcome (metrics keep their historical labels). */
const LOGGED_REASON: Record<Outcome, string> = {
  failure: "invalid",
  malformed: "malformed",
  cancelled: "cancelled",
  unavailable: "unavailable",
  locked: "throttled",
  "too-long": "too-long",
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict RFC 4648 decoding: Buffer.from(…, "base64") silently skips garbage, which must be 501. */
export function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

function isMechanismName(name: string): name is MechanismName {
  return (MECHANISM_NAMES as readonly string[]).includes(name);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Checks that may refuse AUTH before any exchange starts; returns the refusal or the mechanism. None
 *  of these counts as a failed login: no credentials were offered. */
function admit(io: AuthIO, settings: AuthSettings, name: string): SmtpReply | MechanismName {
  if (io.authenticated) return Replies.alreadyAuthenticated;
  if (io.inTransaction) return Replies.authInTransaction;
  if (!isMechanismName(name)) return Replies.unknownMechanism;
  const offered = offeredMechanisms(settings.enabled, {
    secure: true,
    hasClientCertificate: io.clientCertificate !== undefined,
  });
  // RFC 4954 §4: a mechanism this connection does not offer is 504, whether the gateway knows it or not
  // (not enabled, or EXTERNAL without a verified certificate) ...
  if (!offered.includes(name)) return Replies.unknownMechanism;
  // ... except one that TLS would make available (538), or that needs TLS this listener cannot give.
  if (MECHANISMS[name].plaintext && !io.secure) {
    return io.tlsAvailable ? Replies.encryptionRequired : Replies.mechanismTooWeak;
  }
  return name;
}

/** Reads one client response: the decoded bytes, or the reply that ends the exchange. */
async function readResponse(io: AuthIO): Promise<Buffer | { outcome: Outcome; reply: SmtpReply }> {
  const line = (await io.nextLine()).replace(/\r?\n$/, "");
  if (line.length > MAX_AUTH_LINE) return { outcome: "too-long", reply: Replies.authLineTooLong };
  if (line.trim() === "*") return { outcome: "cancelled", reply: Replies.authCancelled };
  const data = decodeBase64(line.trim());
  return data ?? { outcome: "malformed", reply: Replies.authBadBase64 };
}

export async function handleAuth(io: AuthIO, commandLine: string, settings: AuthSettings): Promise<void> {
  const line = commandLine.replace(/\r?\n$/, "");
  if (line.length > MAX_AUTH_LINE) return io.reply(Replies.authLineTooLong);
  const args = line.trim().split(/\s+/).slice(1);
  if (args.length < 1 || args.length > 2) return io.reply(Replies.authSyntax);
  const name = (args[0] ?? "").toUpperCase();
  const admitted = admit(io, settings, name);
  if (typeof admitted !== "string") return io.reply(admitted);
  const exchange: Exchange = { io, settings, mechanism: admitted, username: undefined };
  let input: Buffer | undefined;
  if (args[1] !== undefined) {
    // RFC 4954 §4: "=" is an empty initial response; anything else must be strict base64.
    input = args[1] === "=" ? Buffer.alloc(0) : decodeBase64(args[1]);
    if (!input) return finish(exchange, "malformed", Replies.authBadBase64);
  }
  // Every turn this exchange takes in the throttle is given back when it ends, however it ends.
  const releases: (() => void)[] = [];
  const enter = async (username: string) => {
    exchange.username = username;
    const admission = settings.throttle.admit(username, io.remoteAddress);
    if (admission.kind === "busy") throw new AuthThrottled();
    releases.push(admission.release);
    if (admission.waitMs > 0) await sleep(admission.waitMs);
  };
  try {
    await run(exchange, throttledBackend(settings.backend, enter), input);
  } finally {
    for (const release of releases) release();
  }
}

/** One AUTH exchange as the driver tracks it: the name it is about, once the client gave one. */
interface Exchange {
  io: AuthIO;
  settings: AuthSettings;
  mechanism: MechanismName;
  username: string | undefined;
}

async function run(exchange: Exchange, backend: SaslBackend, initial: Buffer | undefined): Promise<void> {
  const { io, settings, mechanism } = exchange;
  const sasl = MECHANISMS[mechanism].start(
    { secure: io.secure, serverName: settings.serverName, clientCertificate: io.clientCertificate },
    backend,
  );
  let input = initial;
  for (;;) {
    let step: SaslStep;
    try {
      step = await sasl.step(input);
    } catch (error) {
      if (error instanceof AuthThrottled) return finish(exchange, "locked", Replies.authLockedOut);
      // A backend fault (store unreadable, JWKS unreachable) is a temporary condition, never a login.
      return finish(exchange, "unavailable", Replies.authTemporaryFailure);
    }
    if (step.kind === "challenge") {
      io.challenge(step.data);
      const response = await readResponse(io);
      if (!Buffer.isBuffer(response)) return finish(exchange, response.outcome, response.reply);
      input = response;
      continue;
    }
    if (step.kind === "success") return succeed(exchange, step);
    return fail(exchange, step);
  }
}

async function succeed(exchange: Exchange, step: Extract<SaslStep, { kind: "success" }>): Promise<void> {
  const { io, settings, mechanism } = exchange;
  // Before SCRAM's server signature goes out: it proves the password right, so a client outside the
  // user's networks must never see it. That looks exactly like a wrong password.
  if (!settings.sourceAllowed(step.username, io.remoteAddress)) {
    return fail(exchange, { kind: "failure", reason: "invalid", username: step.username });
  }
  if (step.finalData) {
    // RFC 4954 §4: additional data with success goes out as a challenge; the client answers empty.
    io.challenge(step.finalData);
    const response = await readResponse(io);
    if (!Buffer.isBuffer(response)) return finish(exchange, response.outcome, response.reply);
  }
  settings.throttle.recordSuccess(io.remoteAddress, step.username);
  io.succeed({ username: step.username, authzid: step.authzid, mechanism });
  settings.metrics?.authAttempts.inc({ mechanism, result: "success" });
  io.reply(Replies.authSucceeded);
}

async function fail(exchange: Exchange, step: Extract<SaslStep, { kind: "failure" }>): Promise<void> {
  const { io, settings } = exchange;
  if (step.username !== undefined) exchange.username = step.username;
  if (step.errorData) {
    // RFC 7628 §3.2.3: error JSON as a challenge, the client's dummy answer, then the failure.
    io.challenge(step.errorData);
    const response = await readResponse(io);
    if (!Buffer.isBuffer(response) && response.outcome === "too-long") {
      return finish(exchange, response.outcome, response.reply);
    }
  }
  if (step.reason === "unavailable") return finish(exchange, "unavailable", Replies.authTemporaryFailure);
  if (step.reason === "malformed") return finish(exchange, "malformed", Replies.authMalformed);
  // Every refused guess counts in every scope and waits the same delay.
  const penalties = settings.throttle.recordFailure(io.remoteAddress, exchange.username);
  for (const scope of penalties) lockout(exchange, scope);
  io.failures += 1;
  if (settings.failureDelayMs > 0) await sleep(settings.failureDelayMs);
  if (io.failures >= settings.maxFailuresPerConnection) {
    settings.metrics?.authLockouts.inc({ scope: "connection" });
    lockout(exchange, "connection");
    finish(exchange, "failure", Replies.tooManyAuthFailures);
    return io.close();
  }
  return finish(exchange, "failure", Replies.authFailed);
}

function lockout({ io, settings, username }: Exchange, scope: PenaltyScope | "connection"): void {
  if (settings.logger) logLockout(settings.logger, { remoteAddress: io.remoteAddress, username, scope });
}

/** Ends a failed exchange: its reply, its metric and its one log line. */
function finish(exchange: Exchange, outcome: Outcome, reply: SmtpReply): void {
  const { io, settings, mechanism, username } = exchange;
  settings.metrics?.authAttempts.inc({ mechanism, result: outcome });
  if (settings.logger) {
    logAuthFailure(settings.logger, {
      remoteAddress: io.remoteAddress,
      username,
      mechanism,
      reason: LOGGED_REASON[outcome],
    });
  }
  io.reply(reply);
}
