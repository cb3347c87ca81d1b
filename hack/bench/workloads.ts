// The load generator's three workloads. Every session is closed-loop: it starts its next message as soon
// as the previous one was answered, so throughput is what the server sustains at that concurrency.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ErrorCount,
  ErrorTally,
  Measurement,
  type MeasurementResult,
  type WindowOptions,
} from "./measurement.ts";
import { composeMessage } from "./message.ts";
import {
  type Credentials,
  errorText,
  type SessionOptions,
  SmtpSession,
  type Target,
} from "./smtp-session.ts";

export interface LoadOptions {
  /** Session i connects to targets[i % targets.length] (several replicas behind one Service). */
  targets: Target[];
  credentials: Credentials;
  /** Per message, instead of `credentials.user`: each of these logs in exactly once (cold logins),
   *  and the run ends when all have. */
  coldUsers?: string[] | undefined;
  to: string;
  messageBytes: number;
  sessions: number;
  session: SessionOptions;
  /** Session i connects from localAddresses[i % length] (a source address has about 28,000 ports). */
  localAddresses?: string[] | undefined;
}

// After a failed connect, a session waits this long before retrying, so a refusing server is not
// hammered in a tight loop that would only measure the load generator.
const RETRY_PAUSE_MS = 100;

/** A message from `from` (envelope and header sender: the authenticated user). */
type MessageFactory = (from: string) => Buffer;

function messageFactory(options: LoadOptions): MessageFactory {
  const prefix = randomBytes(6).toString("hex");
  let sequence = 0;
  return (from) =>
    composeMessage({
      from,
      to: options.to,
      messageId: `${prefix}.${++sequence}@loadgen.example`,
      date: new Date(),
      size: options.messageBytes,
    });
}

function sessionOptions(options: LoadOptions, index: number): { target: Target; session: SessionOptions } {
  const target = options.targets[index % options.targets.length] as Target;
  const local = options.localAddresses?.[index % options.localAddresses.length];
  return { target, session: { ...options.session, ...(local && { localAddress: local }) } };
}

async function authenticatedSession(
  options: LoadOptions,
  index: number,
  credentials = options.credentials,
): Promise<SmtpSession> {
  const { target, session: connection } = sessionOptions(options, index);
  const session = await SmtpSession.open(target, connection);
  try {
    await session.login(credentials);
  } catch (err) {
    session.close();
    throw err;
  }
  return session;
}

async function runSessions(
  options: LoadOptions,
  window: WindowOptions,
  session: (m: Measurement, message: MessageFactory, index: number) => Promise<void>,
): Promise<MeasurementResult> {
  const measurement = new Measurement(window, performance.now());
  const message = messageFactory(options);
  await Promise.all(Array.from({ length: options.sessions }, (_, i) => session(measurement, message, i)));
  measurement.finish(performance.now());
  return measurement.result();
}

/** One AUTH per session, then messages back to back; latency runs from MAIL FROM to the 250 after DATA.
 *  With `coldUsers`, session i logs in as the i-th of them. */
export function pooled(options: LoadOptions, window: WindowOptions): Promise<MeasurementResult> {
  return runSessions(options, window, async (m, message, index) => {
    // With `coldUsers`, session i is user i (many users at once, each within its own limits).
    const from = options.coldUsers?.[index % options.coldUsers.length] ?? options.credentials.user;
    const credentials = { user: from, pass: options.credentials.pass };
    while (m.running(performance.now())) {
      let session: SmtpSession;
      try {
        session = await authenticatedSession(options, index, credentials);
      } catch (err) {
        m.failure(errorText(err));
        await sleep(RETRY_PAUSE_MS);
        continue;
      }
      let failed = false;
      while (!failed && m.running(performance.now())) {
        const started = performance.now();
        try {
          await session.send(from, options.to, message(from));
          m.success(started, performance.now());
        } catch (err) {
          // A refused message leaves the transaction in an unknown state: start a fresh session.
          m.failure(errorText(err));
          failed = true;
        }
      }
      if (failed) session.close();
      else await session.quit();
    }
  });
}

/** A new connection for every message; latency runs from connect to the 250 after DATA. With
 *  `coldUsers`, each message logs in as the next of them, and the sessions stop when none is left. */
export function perMessage(options: LoadOptions, window: WindowOptions): Promise<MeasurementResult> {
  const cold = options.coldUsers ? [...options.coldUsers].reverse() : undefined;
  const nextUser = () => (cold ? cold.pop() : options.credentials.user);
  return runSessions(options, window, async (m, message, index) => {
    while (m.running(performance.now())) {
      const user = nextUser();
      if (user === undefined) return;
      const started = performance.now();
      let session: SmtpSession | undefined;
      try {
        session = await authenticatedSession(options, index, { user, pass: options.credentials.pass });
        await session.send(user, options.to, message(user));
        m.success(started, performance.now());
        await session.quit();
      } catch (err) {
        m.failure(errorText(err));
        session?.close();
      }
    }
  });
}

export interface IdleResult {
  sessions: number;
  authenticated: number;
  /** From the first connect until every session was authenticated or had failed. */
  seconds: number;
  errors: number;
  errorTexts: ErrorCount[];
}

export interface IdleSessions {
  result: IdleResult;
  close(): void;
}

/** Opens `options.sessions` authenticated sessions, at most `inFlight` handshakes at a time, and keeps
 *  them open (idle) until `close()`. */
export async function idle(options: LoadOptions, inFlight: number): Promise<IdleSessions> {
  const errors = new ErrorTally();
  const open: SmtpSession[] = [];
  const started = performance.now();
  let next = 0;
  const opener = async () => {
    while (next < options.sessions) {
      const index = next++;
      try {
        open.push(await authenticatedSession(options, index));
      } catch (err) {
        errors.add(errorText(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, options.sessions) }, opener));
  const result = {
    sessions: options.sessions,
    authenticated: open.filter((s) => !s.closed).length,
    seconds: (performance.now() - started) / 1000,
    errors: errors.total,
    errorTexts: errors.counts(),
  };
  return {
    result,
    close: () => {
      for (const session of open) session.close();
    },
  };
}
