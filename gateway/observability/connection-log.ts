// One log line for a connection that failed below SMTP: a plaintext client on the implicit-TLS port, a
// TLS handshake the client gave up on, a reset. Client, listener, the error's code and message — no
// stack trace, which says nothing about a client's mistake and turns one line into forty.
import type { Logger } from "pino";
import { clientAddress } from "./auth-log.ts";

interface SocketError extends Error {
  code?: string;
  /** What smtp-server adds to TLS errors: the client, and the library's own message before it
   *  replaced it with a generic one. */
  meta?: { remoteAddress?: string; message?: string };
}

export function logConnectionError(logger: Logger, listener: string, err: SocketError): void {
  logger.warn(
    {
      event: "connection_error",
      client: clientAddress(err.meta?.remoteAddress ?? ""),
      listener,
      code: err.code ?? "",
      reason: err.meta?.message ?? err.message,
    },
    "connection failed",
  );
}
