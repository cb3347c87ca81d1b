// Hands accepted messages to the upstream relay through nodemailer's pooled SMTP transport and
// reports the upstream's verdict. The caller answers the client only after this resolves, so a
// 250 to the client always means the upstream said 250.
import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import nodemailer from "nodemailer";
import type { SMTPPoolSentMessageInfo } from "nodemailer/lib/smtp-pool";
import type { z } from "zod";
import type { UpstreamSchema } from "../config/schema.ts";
import { failureFromUpstreamError, type UpstreamFailure } from "./upstream-reply.ts";

export type UpstreamConfig = z.infer<typeof UpstreamSchema>;

export interface Envelope {
  from: string;
  to: string[];
}

export type RelayOutcome = { ok: true; response: string } | ({ ok: false } & UpstreamFailure);

function createPool(config: UpstreamConfig, hostname: string, resolvePath: (p: string) => string) {
  return nodemailer.createTransport({
    pool: true,
    name: hostname,
    maxConnections: config.pool,
    maxMessages: Number.POSITIVE_INFINITY,
    host: config.host,
    port: config.port,
    secure: config.tls === "implicit",
    requireTLS: config.tls === "starttls",
    ignoreTLS: config.tls === "none",
    connectionTimeout: config.connectionTimeoutSeconds * 1000,
    greetingTimeout: config.connectionTimeoutSeconds * 1000,
    socketTimeout: config.socketTimeoutSeconds * 1000,
    tls: {
      rejectUnauthorized: config.verifyCertificate,
      ...(config.caFile ? { ca: readFileSync(resolvePath(config.caFile)) } : {}),
    },
  });
}

export class UpstreamRelay {
  readonly #transport: ReturnType<typeof createPool>;

  /** `hostname` is what the gateway says in EHLO to the upstream. */
  constructor(config: UpstreamConfig, hostname: string, resolvePath: (p: string) => string = (p) => p) {
    this.#transport = createPool(config, hostname, resolvePath);
  }

  async send(envelope: Envelope, message: Readable): Promise<RelayOutcome> {
    try {
      const info: SMTPPoolSentMessageInfo = await this.#transport.sendMail({
        envelope: { from: envelope.from, to: envelope.to },
        raw: message,
      });
      if (info.rejected.length > 0) {
        // Some recipients were refused after the client was told 250 for them at RCPT time;
        // the upstream holds the message for the rest, so it must not be sent again. Report it.
        return { ok: true, response: `${info.response} (refused: ${info.rejected.length})` };
      }
      return { ok: true, response: info.response };
    } catch (err) {
      return { ok: false, ...failureFromUpstreamError(err as Error & { responseCode?: number }) };
    }
  }

  close(): void {
    this.#transport.close();
  }
}
