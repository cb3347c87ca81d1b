// The contract between the SMTP transaction and the upstream relay. A client transaction maps onto
// one upstream transaction, command by command: MAIL FROM opens it, each RCPT is asked of the
// upstream before the client hears 250, DATA is answered with the upstream's own final reply. So a
// recipient the upstream refuses is refused to the client, and a 250 always means the upstream's
// 250 — nothing is acknowledged that the upstream did not accept, and nothing is sent twice.
import type { UpstreamFailure } from "./upstream-reply.ts";

export type UpstreamStep = { ok: true; response: string } | ({ ok: false } & UpstreamFailure);

export interface UpstreamTransaction {
  /** Asks the upstream to accept one recipient. */
  rcpt(address: string): Promise<UpstreamStep>;
  /** Streams the message (as the client sent it, after dot-unstuffing) to the accepted recipients;
   *  the upstream's final reply comes only after `message` ended. If `message` throws, the upstream
   *  never sees the end of the data, so it keeps nothing. */
  data(message: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<UpstreamStep>;
  /** Abandons the transaction (client RSET, QUIT, disconnect, policy refusal): RSET upstream and
   *  return the connection to the pool, or drop it if the upstream is in an unknown state. */
  abort(): void;
}

export interface BeginOptions {
  /** The SIZE the client declared. */
  size?: number | undefined;
  /** The client's BODY (RFC 6152), passed on where the upstream announced 8BITMIME. */
  body?: "7BIT" | "8BITMIME" | undefined;
  owner: string;
}

export interface Upstream {
  /** Checks out a pooled upstream connection and sends MAIL FROM. `owner` is the user the pool's
   *  per-user share is counted for. */
  begin(
    from: string,
    options: BeginOptions,
  ): Promise<{ ok: true; tx: UpstreamTransaction } | ({ ok: false } & UpstreamFailure)>;
  /** Closes idle connections now and busy ones when their transaction ends. */
  close(): Promise<void>;
}
