// The smtp-server package as an upstream for the relay's tests: a real SMTP server implementation
// that decodes every SASL mechanism the gateway speaks upstream (PLAIN, LOGIN, XOAUTH2), so a test
// can check exactly which credentials arrived. Plaintext on loopback, where AUTH may travel so.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";
import { SMTPServer, type SMTPServerAuthentication } from "smtp-server";

export interface SmtpServerUpstream {
  port: number;
  /** Every AUTH attempt, in order. */
  auths: SMTPServerAuthentication[];
  /** The parameters of every MAIL FROM (false: none). */
  mailArgs: Array<Record<string, string | boolean> | false>;
  messages: Buffer[];
  /** Octets of DATA received so far, counted as they arrive (complete messages or not). */
  dataBytes: number;
  /** Client connections accepted so far, and those closed since. */
  connections: { opened: number; closed: number };
}

export interface SmtpServerUpstreamOptions {
  /** `accept` decides each AUTH: true accepts, "challenge" answers XOAUTH2's way (334 + JSON error,
   *  then 535), anything else refuses with 535. */
  accept?: (auth: SMTPServerAuthentication) => true | false | "challenge";
  /** How long the reply to a complete message is held back (the message counts only once sent). */
  replyDelayMs?: number;
}

export async function startSmtpServerUpstream(
  t: TestContext,
  options: SmtpServerUpstreamOptions = {},
): Promise<SmtpServerUpstream> {
  const accept = options.accept ?? (() => true);
  const upstream: SmtpServerUpstream = {
    port: 0,
    auths: [],
    mailArgs: [],
    messages: [],
    dataBytes: 0,
    connections: { opened: 0, closed: 0 },
  };
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: true,
    closeTimeout: 100,
    authMethods: ["PLAIN", "LOGIN", "XOAUTH2"],
    size: 64 * 1024 * 1024,
    logger: false,
    onConnect(_session, done) {
      upstream.connections.opened++;
      done();
    },
    onClose() {
      upstream.connections.closed++;
    },
    onAuth(auth, _session, done) {
      upstream.auths.push(auth);
      const verdict = accept(auth);
      if (verdict === true) return done(null, { user: auth.username });
      if (verdict === "challenge") return done(null, { data: { status: "401", schemes: "bearer" } });
      return done(new Error("Invalid credentials"));
    },
    onMailFrom(address, _session, done) {
      upstream.mailArgs.push(address.args);
      done();
    },
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => {
        chunks.push(c);
        upstream.dataBytes += c.length;
      });
      stream.on("end", () => {
        setTimeout(() => {
          upstream.messages.push(Buffer.concat(chunks));
          done();
        }, options.replyDelayMs ?? 0);
      });
    },
  });
  server.listen(0, "127.0.0.1");
  await once(server.server, "listening");
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  upstream.port = (server.server.address() as AddressInfo).port;
  return upstream;
}
