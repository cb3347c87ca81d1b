// The AUTH command (RFC 4954) as a driver around the SASL mechanisms: parses the command, enforces
// the session rules (TLS first, once per session, not inside a transaction), decodes base64, runs
// the mechanism's steps, and turns outcomes into the exact replies of gateway/smtp/replies.ts.
// It knows nothing about sockets: the connection hands it an AuthIO.
import type { PeerCertificate } from "node:tls";
import { lockAwareBackend } from "../auth/lock-aware-backend.ts";
import type { AuthThrottle } from "../auth/throttle.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { MechanismName, SaslBackend, SaslStep } from "../sasl/mechanism.ts";
import { MECHANISM_NAMES } from "../sasl/mechanism.ts";
import { MECHANISMS } from "../sasl/registry.ts";
import { Replies, type SmtpReply } from "./replies.ts";

/** RFC 4954 §4 asks servers to accept 12,288 octets of initial response; leave headroom. */
export const MAX_AUTH_LINE = 16 * 1024;

export interface AuthenticatedUser {
  username: string;
  /** A different authorization identity the client asked for and was allowed to use. */
  authzid?: string | undefined;
  mechanism: MechanismName;
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
}

type Outcome = "success" | "failure" | "malformed" | "cancelled" | "unavailable" | "locked" | "too-long";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict RFC 4648 decoding: Buffer.from(…, "base64") silently skips garbage, which must be 501. */
export function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

function isMechanismName(name: string): name is MechanismName {
  return (MECHANISM_NAMES as readonly string[]).includes(name);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Checks that may refuse AUTH before any exchange starts; returns the refusal or the mechanism. */
function admit(io: AuthIO, settings: AuthSettings, name: string): SmtpReply | MechanismName {
  if (io.authenticated) return Replies.alreadyAuthenticated;
  if (io.inTransaction) return Replies.authInTransaction;
  if (!isMechanismName(name)) return Replies.unknownMechanism;
  if (!settings.enabled.includes(name)) return Replies.mechanismTooWeak;
  if (MECHANISMS[name].plaintext && !io.secure) {
    return io.tlsAvailable ? Replies.encryptionRequired : Replies.mechanismTooWeak;
  }
  if (settings.throttle.addressLocked(io.remoteAddress)) return Replies.authLockedOut;
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
  if (typeof admitted !== "string") {
    if (admitted === Replies.authLockedOut)
      settings.metrics?.authAttempts.inc({ mechanism: name, result: "locked" });
    return io.reply(admitted);
  }

  let input: Buffer | undefined;
  if (args[1] !== undefined) {
    // RFC 4954 §4: "=" is an empty initial response; anything else must be strict base64.
    input = args[1] === "=" ? Buffer.alloc(0) : decodeBase64(args[1]);
    if (!input) return finish(io, settings, admitted, "malformed", Replies.authBadBase64);
  }

  const backend = lockAwareBackend(settings.backend, (user) =>
    settings.throttle.userLocked(user, io.remoteAddress),
  );
  const exchange = MECHANISMS[admitted].start(
    { secure: io.secure, serverName: settings.serverName, clientCertificate: io.clientCertificate },
    backend,
  );
  for (;;) {
    let step: SaslStep;
    try {
      step = await exchange.step(input);
    } catch {
      // A backend fault (store unreadable, JWKS unreachable) is a temporary condition, never a login.
      return finish(io, settings, admitted, "unavailable", Replies.authTemporaryFailure);
    }
    if (step.kind === "challenge") {
      io.challenge(step.data);
      const response = await readResponse(io);
      if (!Buffer.isBuffer(response)) return finish(io, settings, admitted, response.outcome, response.reply);
      input = response;
      continue;
    }
    if (step.kind === "success") return succeed(io, settings, admitted, step);
    return fail(io, settings, admitted, step);
  }
}

async function succeed(
  io: AuthIO,
  settings: AuthSettings,
  mechanism: MechanismName,
  step: Extract<SaslStep, { kind: "success" }>,
): Promise<void> {
  // Before SCRAM's server signature goes out: it proves the password right, so a locked-out client
  // or one outside the user's networks must never see it. Both look exactly like a wrong password.
  if (
    settings.throttle.userLocked(step.username, io.remoteAddress) ||
    !settings.sourceAllowed(step.username, io.remoteAddress)
  ) {
    return fail(io, settings, mechanism, { kind: "failure", reason: "invalid", username: step.username });
  }
  if (step.finalData) {
    // RFC 4954 §4: additional data with success goes out as a challenge; the client answers empty.
    io.challenge(step.finalData);
    const response = await readResponse(io);
    if (!Buffer.isBuffer(response)) return finish(io, settings, mechanism, response.outcome, response.reply);
  }
  settings.throttle.recordSuccess(io.remoteAddress, step.username);
  io.succeed({ username: step.username, authzid: step.authzid, mechanism });
  settings.metrics?.authAttempts.inc({ mechanism, result: "success" });
  io.reply(Replies.authSucceeded);
}

async function fail(
  io: AuthIO,
  settings: AuthSettings,
  mechanism: MechanismName,
  step: Extract<SaslStep, { kind: "failure" }>,
): Promise<void> {
  if (step.errorData) {
    // RFC 7628 §3.2.3: error JSON as a challenge, the client's dummy answer, then the failure.
    io.challenge(step.errorData);
    const response = await readResponse(io);
    if (!Buffer.isBuffer(response) && response.outcome === "too-long") {
      return finish(io, settings, mechanism, response.outcome, response.reply);
    }
  }
  if (step.reason === "unavailable") {
    return finish(io, settings, mechanism, "unavailable", Replies.authTemporaryFailure);
  }
  if (step.reason === "malformed") return finish(io, settings, mechanism, "malformed", Replies.authMalformed);

  // Every refused guess, a locked user's included, counts everywhere and waits the same delay.
  const locked = step.username !== undefined && settings.throttle.userLocked(step.username, io.remoteAddress);
  settings.throttle.recordFailure(io.remoteAddress, step.username);
  io.failures += 1;
  if (settings.failureDelayMs > 0) await sleep(settings.failureDelayMs);
  if (io.failures >= settings.maxFailuresPerConnection) {
    settings.metrics?.authLockouts.inc({ scope: "connection" });
    settings.metrics?.authAttempts.inc({ mechanism, result: locked ? "locked" : "failure" });
    io.reply(Replies.tooManyAuthFailures);
    return io.close();
  }
  if (locked) return finish(io, settings, mechanism, "locked", Replies.authLockedOut);
  return finish(io, settings, mechanism, "failure", Replies.authFailed);
}

function finish(
  io: AuthIO,
  settings: AuthSettings,
  mechanism: MechanismName,
  outcome: Outcome,
  reply: SmtpReply,
) {
  settings.metrics?.authAttempts.inc({ mechanism, result: outcome });
  io.reply(reply);
}
