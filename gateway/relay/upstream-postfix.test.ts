// A real Postfix as the gateway's upstream: STARTTLS (or implicit TLS) with the certificate
// verified against the test CA, SASL AUTH from mounted credential files, recipient refusals from
// an access map, and each accepted message handed on to an smtp-sink before Postfix says 250.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import pino, { type Logger } from "pino";
import { testPki } from "../testing/certificates.ts";
import {
  type PostfixUpstream,
  REFUSED_RECIPIENTS,
  startPostfixUpstream,
  UPSTREAM_USER,
} from "../testing/postfix-upstream.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { sinkCopies, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const UPSTREAM_PASSWORD = "upstream secret: gateway's own";

let postfix: PostfixUpstream;
/** The test CA, which issued Postfix's server certificate. */
let caFile: string;
before(async () => {
  postfix = await startPostfixUpstream();
  await postfix.setPassword(UPSTREAM_PASSWORD);
  caFile = (await testPki()).caCert;
});
after(() => postfix.stop());

interface Upstream {
  mechanism?: "PLAIN" | "LOGIN";
  password?: string;
  /** Default true; false leaves the gateway with the system's CAs only. */
  trustTestCa?: boolean;
  tls?: "starttls" | "implicit";
}

/** A gateway relaying through the Postfix upstream; its credentials are files, as a mounted Secret. */
async function gatewayThroughPostfix(t: TestContext, upstream: Upstream = {}, logger?: Logger) {
  const secrets = await mkdtemp(join(tmpdir(), "postern-upstream-secret-"));
  t.after(() => rm(secrets, { recursive: true, force: true }));
  const passwordFile = join(secrets, "password");
  await writeFile(join(secrets, "username"), `${UPSTREAM_USER}\n`);
  await writeFile(passwordFile, upstream.password ?? UPSTREAM_PASSWORD);
  const gw = await startTestGateway(t, {
    ...(logger && { logger }),
    config: {
      upstream: {
        host: "127.0.0.1",
        port: upstream.tls === "implicit" ? postfix.implicitPort : postfix.port,
        tls: upstream.tls ?? "starttls",
        verifyCertificate: true,
        ...(upstream.trustTestCa === false ? {} : { caFile }),
        auth: {
          mechanism: upstream.mechanism ?? "PLAIN",
          usernameFile: join(secrets, "username"),
          passwordFile,
        },
        connectionTimeoutSeconds: 3,
        socketTimeoutSeconds: 1,
      },
    },
  });
  return { gw, passwordFile };
}

const client = (gw: TestGateway) => RawSmtp.authenticated(gw.ports.submissions, ALICE);

async function send(c: RawSmtp, to: string) {
  const message = testMessage(ALICE.username, to);
  assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
  assert.equal((await c.command(`RCPT TO:<${to}>`)).code, 250);
  assert.equal((await c.command("DATA")).code, 354);
  return { last: (await c.command(`${message.text}.`)).last, token: message.token };
}

/** The upstream's copy of the message, which must be there exactly once. */
async function deliveredOnce(token: string): Promise<string> {
  const copies = await sinkCopies(postfix.sink, token);
  assert.equal(copies.length, 1, `copies of ${token} behind the Postfix upstream`);
  return copies[0] as string;
}

describe("TLS and AUTH to a real Postfix upstream", () => {
  for (const mechanism of ["PLAIN", "LOGIN"] as const) {
    it(`STARTTLS, verified certificate, AUTH ${mechanism} from files: the message arrives once`, async (t) => {
      const { gw } = await gatewayThroughPostfix(t, { mechanism });
      const c = await client(gw);
      const { last, token } = await send(c, "carol@example.net");
      assert.match(last, /^250 2\.6\.0/);
      c.close();
      // Postfix's own trace: it took the message over TLS from an authenticated client (ESMTPSA).
      assert.match(await deliveredOnce(token), /by upstream\.test \(Postfix\) with ESMTPSA\s/);
    });
  }

  it("implicit TLS (smtps) works the same", async (t) => {
    const { gw } = await gatewayThroughPostfix(t, { tls: "implicit" });
    const c = await client(gw);
    const { last, token } = await send(c, "carol@example.net");
    assert.match(last, /^250 2\.6\.0/);
    c.close();
    assert.match(await deliveredOnce(token), /by upstream\.test \(Postfix\) with ESMTPSA\s/);
  });

  it("a wrong upstream password is a 4xx for the client, never a bounce; a fixed file works without restart", async (t) => {
    const { gw, passwordFile } = await gatewayThroughPostfix(t, { password: "stale password" });
    const c = await client(gw);
    assert.equal(
      (await c.command(`MAIL FROM:<${ALICE.username}>`)).last,
      "451 4.7.0 Upstream relay authentication failed, try again later",
    );
    // Postfix said 535: the metric shows the upstream's class, the client saw a 4xx.
    const metric = await gw.metrics.registry.getSingleMetricAsString("postern_relay_total");
    assert.match(metric, /postern_relay_total\{result="failed",code_class="5xx"\} 1/);

    await writeFile(passwordFile, UPSTREAM_PASSWORD); // the Secret is rotated
    const { last, token } = await send(c, "carol@example.net");
    assert.match(last, /^250 2\.6\.0/);
    c.close();
    await deliveredOnce(token);
  });

  it("an upstream certificate the gateway does not trust → 4xx, and the credentials never leave", async (t) => {
    const { gw } = await gatewayThroughPostfix(t, { trustTestCa: false });
    const c = await client(gw);
    assert.equal(
      (await c.command(`MAIL FROM:<${ALICE.username}>`)).last,
      "451 4.7.0 Upstream relay TLS failed, try again later",
    );
    c.close();
  });
});

describe("the message log", () => {
  it("one line per relayed or refused message, with the upstream's own reply", async (t) => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const { gw } = await gatewayThroughPostfix(t, {}, logger);
    const c = await client(gw);
    const { last, token } = await send(c, "carol@example.net");
    assert.match(last, /^250 2\.6\.0 Ok: relayed as (\w+)/);
    await deliveredOnce(token);
    assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await c.command("RCPT TO:<carol@example.net>")).code, 250);
    assert.equal((await c.command("DATA")).code, 354);
    assert.match((await c.command("From: <mallory@example.test>\r\n\r\nnot mine\r\n.")).last, /^550 5\.7\.1/);
    c.close();

    const messages = lines.filter((l) => l.event === "message");
    assert.equal(messages.length, 2);
    const [ok, refused] = messages;
    const { level, time, pid, hostname, listener, size, cid, ...rest } = ok ?? {};
    assert.equal(typeof size, "number");
    assert.equal(last, `250 2.6.0 Ok: relayed as ${cid}`);
    assert.deepEqual(rest, {
      event: "message",
      result: "relayed",
      client: "127.0.0.1",
      user: ALICE.username,
      sender: ALICE.username,
      recipients: 1,
      reply: last,
      // This Postfix hands each message to its proxy filter before answering, and passes on the
      // filter's own reply (so no queue id: message-log.test.ts reads those of Postfix, Exim, SES).
      upstreamReply: "250 2.0.0 Ok",
      queueId: null,
      reason: "relayed",
      msg: "message relayed",
    });
    assert.equal(refused?.result, "rejected");
    assert.equal(refused?.reason, "header_from");
    assert.equal(refused?.client, "127.0.0.1");
    assert.match(String(refused?.reply), /^550 5\.7\.1 /);
    assert.equal(refused?.upstreamReply, null);
  });
});

describe("recipients, one by one", () => {
  it("a recipient the upstream refuses is refused to the client; the others get the message once", async (t) => {
    const { gw } = await gatewayThroughPostfix(t);
    const c = await client(gw);
    const message = testMessage(ALICE.username, "carol@example.net");
    assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await c.command("RCPT TO:<carol@example.net>")).code, 250);
    for (const [address, refusal] of Object.entries(REFUSED_RECIPIENTS)) {
      const [code, enhanced, ...text] = refusal.split(" ");
      const expected = `${code} ${enhanced} Upstream: <${address}>: Recipient address rejected: ${text.join(" ")}`;
      assert.equal((await c.command(`RCPT TO:<${address}>`)).last, expected);
    }
    assert.equal((await c.command("RCPT TO:<dave@example.net>")).code, 250);
    assert.equal((await c.command("DATA")).code, 354);
    assert.match((await c.command(`${message.text}.`)).last, /^250 2\.6\.0/);
    c.close();
    const copy = await deliveredOnce(message.token);
    const recipients = [...copy.matchAll(/^X-Rcpt-Args: <([^>]+)>/gm)].map((m) => m[1]);
    assert.deepEqual(recipients, ["carol@example.net", "dave@example.net"]);
  });
});

describe("the pool against Postfix", () => {
  it("a pooled connection whose upstream process hangs is replaced once, after socketTimeout", async (t) => {
    const { gw } = await gatewayThroughPostfix(t);
    const c = await client(gw);
    assert.match((await send(c, "carol@example.net")).last, /^250/);
    // The smtpd serving the now idle pooled connection stops answering (but keeps the socket).
    const [pid, ...others] = await postfix.sessionPids();
    assert.ok(pid !== undefined && others.length === 0, "one upstream connection in the pool");
    process.kill(pid, "SIGSTOP");
    t.after(() => process.kill(pid, "SIGKILL"));

    const started = Date.now();
    const { last, token } = await send(c, "carol@example.net");
    assert.match(last, /^250 2\.6\.0/);
    assert.ok(Date.now() - started >= 900, "MAIL FROM waited socketTimeout on the hung connection");
    c.close();
    await deliveredOnce(token);
  });
});
