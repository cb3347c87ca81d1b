// The log lines people and tools act on for authentication: one JSON line per failed AUTH exchange and
// one per brute-force penalty, each with the client address as a bare IP. Their shape is a contract —
// docs/logging.md gives a fail2ban filter and a CrowdSec parser for them, and auth-log.test.ts and
// crowdsec.test.ts run them over real output — so keys and messages change only together with those.
//
// Values a client chose (the user name) are JSON-escaped by pino, so they can never forge a `"client":`
// field, and are cut to MAX_NAME characters so one client cannot write megabytes of log.
import type { Logger } from "pino";

const MAX_NAME = 256;

/** The address as fail2ban bans it: an IPv4-mapped IPv6 address as plain IPv4. */
export function clientAddress(remoteAddress: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)?.[1] ?? remoteAddress;
}

export interface AuthFailure {
  remoteAddress: string;
  /** The name the client gave, when it got that far. */
  username: string | undefined;
  mechanism: string;
  /** invalid, malformed, cancelled, too-long, throttled, unavailable, not-allowed-here. */
  reason: string;
}

export function logAuthFailure(logger: Logger, failure: AuthFailure): void {
  logger.warn(
    {
      event: "auth_failure",
      client: clientAddress(failure.remoteAddress),
      username: (failure.username ?? "").slice(0, MAX_NAME),
      mechanism: failure.mechanism,
      reason: failure.reason,
    },
    "authentication failed",
  );
}

export interface Lockout {
  remoteAddress: string;
  username: string | undefined;
  /** address, user (a penalty began: attempts are slowed) or connection (closed after its failures). */
  scope: string;
}

export function logLockout(logger: Logger, lockout: Lockout): void {
  logger.warn(
    {
      event: "auth_lockout",
      client: clientAddress(lockout.remoteAddress),
      username: (lockout.username ?? "").slice(0, MAX_NAME),
      scope: lockout.scope,
    },
    "authentication penalty",
  );
}
