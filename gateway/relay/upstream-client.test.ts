// The command-level upstream client against real SMTP servers: Postfix's smtp-sink (fault options
// for timeouts and dropped connections) and the smtp-server package (which decodes every SASL
// mechanism the client speaks, so the exact credentials that arrived can be checked). Reply
// parsing is pure and tested directly; the DATA encoding in data-payload.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort } from "../testing/ports.ts";
import { startSmtpServerUpstream } from "../testing/smtp-server-upstream.ts";
import { startSmtpSink } from "../testing/smtp-sink.ts";
import {
  type ConnectionOptions,
  credentialsMayTravel,
  parseReply,
  UpstreamConnection,
  UpstreamError,
} from "./upstream-client.ts";

const options = (port: number, extra: Partial<ConnectionOptions> = {}): ConnectionOptions => ({
  host: "127.0.0.1",
  port,
  tls: "none",
  verifyCertificate: true,
  clientName: "gateway.test",
  connectionTimeoutMs: 2000,
  socketTimeoutMs: 2000,
  ...extra,
});

/** Rejects with the UpstreamError `promise` fails with, or fails the test if it resolves. */
async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => assert.fail("expected an upstream error"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UpstreamError, String(err));
  return err;
}

describe("parseReply", () => {
  it("reads a multi-line reply to its last line and leaves what follows", () => {
    const parsed = parseReply("250-upstream.test\r\n250-SIZE 1000\r\n250 AUTH PLAIN\r\n220 next");
    assert.deepEqual(parsed, {
      reply: { code: 250, lines: ["upstream.test", "SIZE 1000", "AUTH PLAIN"] },
      rest: "220 next",
    });
  });

  it("waits for the rest of an incomplete reply", () => {
    assert.equal(parseReply("250-upstream.test\r\n250-SIZE"), undefined);
    assert.equal(parseReply("250 2.1.0 Ok"), undefined);
  });

  it("accepts a bare code and a bare LF line ending", () => {
    assert.deepEqual(parseReply("250\n"), { reply: { code: 250, lines: [""] }, rest: "" });
  });

  it("refuses a code that changes within a reply, a line that is no reply, and a runaway reply", () => {
    assert.throws(() => parseReply("250-a\r\n550 b\r\n"), { code: "EPROTOCOL" });
    assert.throws(() => parseReply("hello\r\n"), { code: "EPROTOCOL" });
    assert.throws(() => parseReply(`250-${"x".repeat(70_000)}`), { code: "EPROTOCOL" });
  });
});

describe("credentialsMayTravel", () => {
  it("allows credentials over TLS anywhere, in plaintext only to loopback", () => {
    assert.equal(credentialsMayTravel("starttls", "smtp.example.com"), true);
    assert.equal(credentialsMayTravel("implicit", "smtp.example.com"), true);
    assert.equal(credentialsMayTravel("none", "127.0.0.1"), true);
    assert.equal(credentialsMayTravel("none", "localhost"), true);
    assert.equal(credentialsMayTravel("none", "::1"), true);
    assert.equal(credentialsMayTravel("none", "smtp.example.com"), false);
    assert.equal(credentialsMayTravel("none", "10.0.0.1"), false);
  });
});

describe("UpstreamConnection against smtp-sink", () => {
  it("runs a transaction command by command; the sink receives the message once, unstuffed", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.ok(c.extensions.has("PIPELINING") && c.extensions.has("ENHANCEDSTATUSCODES"));
    assert.equal(c.extensions.get("AUTH"), "PLAIN LOGIN");
    assert.deepEqual(await c.mail("alice@example.test"), { code: 250, lines: ["2.1.0 Ok"] });
    assert.equal((await c.rcpt("bob@example.net")).code, 250);
    const message = "Subject: dots\r\n\r\n.one dot\r\n..two dots\n.\nafter a smuggled end\r\n";
    assert.deepEqual(await c.data([Buffer.from(message)]), { code: 250, lines: ["2.0.0 Ok"] });
    assert.equal((await c.noop()).code, 250);
    assert.equal((await c.rset()).code, 250);
    await c.quit();
    await c.closed;
    assert.equal(c.alive, false);

    const [copy, ...others] = await sink.messages();
    assert.deepEqual(others, []);
    assert.match(copy ?? "", /^X-Helo-Args: gateway\.test$/m);
    assert.match(copy ?? "", /^X-Mail-Args: <alice@example\.test>$/m);
    // The sink unstuffs and stores LF line endings: the lines are as the client wrote them, and the
    // bare-LF "." line arrived as text, not as the end of the message.
    assert.match(copy ?? "", /\nSubject: dots\n\n\.one dot\n\.\.two dots\n\.\nafter a smuggled end\n/);
  });

  it("streams a message given in chunks, a CRLF and a smuggled end split across them, as one message", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    await c.mail("alice@example.test");
    await c.rcpt("bob@example.net");
    async function* chunks() {
      for (const part of ["Subject: chunks\r", "\n\r\nline one\n", ".\n", "after\r\n"]) {
        yield Buffer.from(part, "latin1");
        await new Promise((r) => setImmediate(r));
      }
    }
    assert.equal((await c.data(chunks())).code, 250);
    await c.quit();
    const [copy, ...others] = await sink.messages();
    assert.deepEqual(others, []);
    assert.match(copy ?? "", /\nSubject: chunks\n\nline one\n\.\nafter\n/);
  });

  it("a message source that fails drops the connection before the end of data: the upstream keeps nothing", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    await c.mail("alice@example.test");
    await c.rcpt("bob@example.net");
    async function* broken() {
      yield Buffer.from("Subject: half\r\n\r\nfirst half\r\n");
      throw new Error("client went away");
    }
    await assert.rejects(c.data(broken()), /client went away/);
    await c.closed;
    assert.equal(c.alive, false);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await sink.messages(), []);
  });

  it("a refused command is a reply, not an error, and the connection stays usable", async (t) => {
    const sink = await startSmtpSink(["-f", "RCPT", "-B", "550 5.1.1 No such user"]);
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.equal((await c.mail("alice@example.test")).code, 250);
    assert.deepEqual(await c.rcpt("nobody@example.net"), { code: 550, lines: ["5.1.1 No such user"] });
    assert.equal((await c.rset()).code, 250);
    await c.quit();
  });

  it("connection refused → ECONNECTION", async () => {
    const err = await failure(UpstreamConnection.open(options(await freePort())));
    assert.equal(err.code, "ECONNECTION");
  });

  it("no greeting within the connection timeout → ETIMEDOUT", async (t) => {
    const sink = await startSmtpSink(["-W", "CONNECT:3"]);
    t.after(() => sink.stop());
    const started = Date.now();
    const err = await failure(UpstreamConnection.open(options(sink.port, { connectionTimeoutMs: 300 })));
    assert.equal(err.code, "ETIMEDOUT");
    assert.ok(Date.now() - started < 2000);
  });

  it("no reply within the socket timeout → ETIMEDOUT, and the connection is dead", async (t) => {
    const sink = await startSmtpSink(["-W", "MAIL:3"]);
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port, { socketTimeoutMs: 300 }));
    const err = await failure(c.mail("alice@example.test"));
    assert.equal(err.code, "ETIMEDOUT");
    assert.equal(c.alive, false);
    assert.equal((await failure(c.rset())).code, "ETIMEDOUT", "a dead connection sends nothing more");
  });

  it("an upstream that drops the connection mid-command → ECONNECTION", async (t) => {
    const sink = await startSmtpSink(["-q", "RCPT"]);
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.equal((await c.mail("alice@example.test")).code, 250);
    assert.equal((await failure(c.rcpt("bob@example.net"))).code, "ECONNECTION");
  });

  it("an idle connection the upstream closes is noticed at once", async (t) => {
    const sink = await startSmtpSink(["-t", "1"]);
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.equal(c.alive, true);
    await c.closed;
    assert.equal(c.alive, false);
  });

  it("tls: starttls against an upstream without STARTTLS fails, never falling back to plaintext", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const err = await failure(UpstreamConnection.open(options(sink.port, { tls: "starttls" })));
    assert.equal(err.code, "ETLS");
    assert.match(err.message, /does not offer STARTTLS/);
  });

  it("an envelope address that could break the command line is never sent", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.equal((await failure(c.mail("a@example.test>\r\nRCPT TO:<x@example.net"))).code, "EPROTOCOL");
    assert.equal((await failure(c.mail("a@example.test> SIZE=1"))).code, "EPROTOCOL");
    assert.equal((await c.noop()).code, 250, "nothing reached the upstream");
    await c.quit();
  });
});

describe("UpstreamConnection against smtp-server (the npm package)", () => {
  const credentials = (mechanism: "PLAIN" | "LOGIN" | "XOAUTH2", secret: string) => ({
    mechanism,
    username: "relay@gateway.test",
    secret,
  });

  for (const mechanism of ["PLAIN", "LOGIN"] as const) {
    it(`AUTH ${mechanism} carries the username and password exactly`, async (t) => {
      const server = await startSmtpServerUpstream(t);
      const password = 'pä ss:wörd\\with"odd';
      const c = await UpstreamConnection.open(
        options(server.port, { credentials: credentials(mechanism, password) }),
      );
      assert.deepEqual(
        server.auths.map((a) => [a.method, a.username, a.password]),
        [[mechanism, "relay@gateway.test", password]],
      );
      await c.quit();
    });
  }

  it("AUTH XOAUTH2 sends Google's user=...^Aauth=Bearer ...^A^A initial response", async (t) => {
    const server = await startSmtpServerUpstream(t, { accept: (auth) => auth.accessToken === "ya29.token" });
    const c = await UpstreamConnection.open(
      options(server.port, { credentials: credentials("XOAUTH2", "ya29.token") }),
    );
    assert.deepEqual(
      server.auths.map((a) => [a.method, a.username, a.accessToken]),
      [["XOAUTH2", "relay@gateway.test", "ya29.token"]],
    );
    await c.quit();
  });

  it("a refused XOAUTH2 token (334 JSON error, then 535) → EAUTH with the upstream's code", async (t) => {
    const server = await startSmtpServerUpstream(t, { accept: () => "challenge" });
    const err = await failure(
      UpstreamConnection.open(options(server.port, { credentials: credentials("XOAUTH2", "expired") })),
    );
    assert.equal(err.code, "EAUTH");
    assert.equal(err.responseCode, 535);
  });

  it("a refused password → EAUTH, and the secret is not in the error", async (t) => {
    const server = await startSmtpServerUpstream(t, { accept: () => false });
    const err = await failure(
      UpstreamConnection.open(options(server.port, { credentials: credentials("PLAIN", "wrong-secret") })),
    );
    assert.equal(err.code, "EAUTH");
    assert.equal(err.responseCode, 535);
    assert.doesNotMatch(`${err.message} ${err.stack}`, /wrong-secret|d3JvbmctC2VjcmV0/);
  });

  it("MAIL FROM carries SIZE= when the upstream announces SIZE", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const c = await UpstreamConnection.open(options(server.port));
    assert.equal(c.extensions.get("SIZE"), String(64 * 1024 * 1024));
    assert.equal((await c.mail("alice@example.test", 4321)).code, 250);
    assert.equal((await c.rcpt("bob@example.net")).code, 250);
    assert.equal((await c.data([Buffer.from("Subject: s\r\n\r\nx\r\n")])).code, 250);
    assert.equal((await c.mail("alice@example.test")).code, 250);
    assert.deepEqual(server.mailArgs, [{ SIZE: "4321" }, false]);
    await c.quit();
  });

  it("an upstream without SIZE gets no SIZE= parameter", async (t) => {
    const sink = await startSmtpSink();
    t.after(() => sink.stop());
    const c = await UpstreamConnection.open(options(sink.port));
    assert.equal(c.extensions.has("SIZE"), false);
    assert.equal((await c.mail("alice@example.test", 4321)).code, 250);
    assert.equal((await c.rcpt("bob@example.net")).code, 250);
    assert.equal((await c.data([Buffer.from("Subject: s\r\n\r\nx\r\n")])).code, 250);
    await c.quit();
    const [copy] = await sink.messages();
    assert.match(copy ?? "", /^X-Mail-Args: <alice@example\.test>$/m);
  });
});
