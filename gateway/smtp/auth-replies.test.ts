// Every AUTH-related reply of the design table, byte for byte, against a real running gateway.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scramClient } from "../sasl/testing/scram-client.ts";
import { freePort } from "../testing/ports.ts";
import { authPlain, base64, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

test("AUTH replies follow the design table", async (t) => {
  const gw = await startTestGateway(t, { relayPort: true });
  const { submission, submissions, relay } = gw.ports;

  await t.test("235 2.7.0 on success, then 503 5.5.1 on a second AUTH", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal(
      (await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).last,
      "235 2.7.0 Authentication successful",
    );
    assert.equal(
      (await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).last,
      "503 5.5.1 Already authenticated",
    );
    c.close();
  });

  await t.test("535 5.7.8 for a wrong password and for an unknown user, with the same text", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    const wrong = await c.command(`AUTH PLAIN ${authPlain(ALICE.username, "nope")}`);
    const unknown = await c.command(`AUTH PLAIN ${authPlain("mallory@example.test", "nope")}`);
    assert.equal(wrong.last, "535 5.7.8 Authentication credentials invalid");
    assert.equal(unknown.last, wrong.last);
    c.close();
  });

  await t.test("530 5.7.0 for MAIL, RCPT and DATA before AUTH", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal(
      (await c.command("MAIL FROM:<alice@example.test>")).last,
      "530 5.7.0 Authentication required",
    );
    assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 530);
    assert.equal((await c.command("DATA")).code, 530);
    c.close();
  });

  await t.test("538 5.7.11 for PLAIN and LOGIN before STARTTLS, and EHLO hides them", async () => {
    const c = await RawSmtp.connect(submission);
    await c.read();
    const ehlo = await c.command("EHLO client.test");
    assert.ok(ehlo.lines.includes("AUTH SCRAM-SHA-256"), ehlo.lines.join("|"));
    assert.ok(ehlo.lines.includes("STARTTLS"));
    assert.equal(
      (await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).last,
      "538 5.7.11 Encryption required for requested authentication mechanism",
    );
    assert.equal((await c.command("AUTH LOGIN")).code, 538);
    c.close();
  });

  await t.test("SCRAM-SHA-256 works before STARTTLS, but no mail goes in the clear: 530 5.7.0", async () => {
    const c = await RawSmtp.connect(submission);
    await c.read();
    await c.command("EHLO client.test");
    const client = scramClient(ALICE.username, ALICE.password);
    const first = await c.command(`AUTH SCRAM-SHA-256 ${client.first.toString("base64")}`);
    assert.equal(first.code, 334);
    const { message, serverFinal } = client.final(Buffer.from(first.last.slice(4), "base64"));
    const last = await c.command(message.toString("base64"));
    assert.equal(Buffer.from(last.last.slice(4), "base64").toString(), serverFinal);
    assert.equal((await c.command("")).last, "235 2.7.0 Authentication successful");
    assert.equal(
      (await c.command("MAIL FROM:<alice@example.test>")).last,
      "530 5.7.0 Must issue a STARTTLS command first",
    );
    c.close();
  });

  await t.test("after STARTTLS, EHLO offers PLAIN and LOGIN", async () => {
    const c = await RawSmtp.session(submission, { tls: "starttls" });
    const ehlo = await c.command("EHLO client.test");
    assert.ok(ehlo.lines.includes("AUTH SCRAM-SHA-256 PLAIN LOGIN"), ehlo.lines.join("|"));
    assert.ok(!ehlo.lines.includes("STARTTLS"));
    c.close();
  });

  await t.test(
    "504 5.5.4 for a mechanism that exists but is not offered here, counting nothing",
    async () => {
      const c = await RawSmtp.session(submissions, { tls: "implicit" });
      // Not enabled on this gateway, and EXTERNAL without a verified client certificate.
      for (const mechanism of ["CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "EXTERNAL", "EXTERNAL ="]) {
        assert.equal(
          (await c.command(`AUTH ${mechanism}`)).last,
          "504 5.5.4 Unrecognized authentication mechanism",
          mechanism,
        );
      }
      // Five refusals, yet the per-connection limit (3 failures) did not close the connection.
      assert.equal((await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).code, 235);
      c.close();
      const attempts = await gw.metrics.registry.getSingleMetric("postern_auth_attempts_total")?.get();
      assert.deepEqual(
        attempts?.values
          .filter((v) => v.labels.result !== "success" && v.value > 0)
          .filter((v) => /CRAM|OAUTH|EXTERNAL/.test(String(v.labels.mechanism))),
        [],
        "not counted as attempts",
      );
    },
  );

  await t.test("504 5.5.4 for an unknown mechanism", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal((await c.command("AUTH GSSAPI")).last, "504 5.5.4 Unrecognized authentication mechanism");
    c.close();
  });

  await t.test("a 12,288-octet initial response is read; a longer line gets 500 5.5.6", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    const big = authPlain(ALICE.username, "x".repeat(9500));
    assert.ok(big.length >= 12288);
    // Read, decoded and judged by the mechanism (PLAIN caps passwords at 1024 octets), not refused
    // for its length.
    assert.equal((await c.command(`AUTH PLAIN ${big}`)).last, "501 5.5.2 Malformed authentication response");
    const huge = "A".repeat(20_000);
    assert.equal(
      (await c.command(`AUTH PLAIN ${huge}`)).last,
      "500 5.5.6 Authentication Exchange line is too long",
    );
    c.close();
  });

  await t.test("501 5.7.0 when the client cancels, 501 5.5.2 for bad base64", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal((await c.command("AUTH LOGIN")).code, 334);
    assert.equal((await c.command("*")).last, "501 5.7.0 Authentication cancelled");
    assert.equal((await c.command("AUTH PLAIN !!!notbase64")).last, "501 5.5.2 Cannot decode response");
    assert.equal((await c.command("AUTH LOGIN")).code, 334);
    assert.equal((await c.command("a=b=c")).last, "501 5.5.2 Cannot decode response");
    c.close();
  });

  await t.test("503 5.5.1 for AUTH inside a mail transaction", async () => {
    const c = await RawSmtp.session(submissions, { tls: "implicit" });
    assert.equal((await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).code, 235);
    assert.equal((await c.command("MAIL FROM:<alice@example.test>")).code, 250);
    // Already authenticated wins over "in a transaction"; both are 503 5.5.1.
    assert.equal((await c.command("AUTH LOGIN")).code, 503);
    c.close();
  });

  await t.test("503 5.5.1 for AUTH after an unauthenticated MAIL FROM (relay port)", async () => {
    // Only the relay-port listener takes MAIL FROM before AUTH, so only there can AUTH meet an open
    // transaction.
    const c = await RawSmtp.session(relay, { tls: "starttls" });
    assert.equal((await c.command("MAIL FROM:<alice@example.test>")).code, 250);
    assert.equal(
      (await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).last,
      "503 5.5.1 AUTH not permitted during a mail transaction",
    );
    // The session stayed anonymous: its recipients are still refused.
    assert.equal(
      (await c.command("RCPT TO:<bob@example.net>")).last,
      "554 5.7.1 Relay access denied: authenticate first",
    );
    c.close();
  });

  await t.test("HELO gets a one-line reply without extensions", async () => {
    const c = await RawSmtp.connect(submissions, { tls: {} });
    await c.read();
    const helo = await c.command("HELO client.test");
    assert.equal(helo.code, 250);
    assert.equal(helo.lines.length, 1);
    assert.doesNotMatch(helo.last, /AUTH/);
    c.close();
  });
});

test("454 4.7.0 when the token issuer cannot be reached", async (t) => {
  const deadPort = await freePort();
  const gw = await startTestGateway(t, {
    auth: {
      mechanisms: ["OAUTHBEARER", "PLAIN"],
      oauth: {
        issuer: "http://127.0.0.1/",
        audience: "postern",
        jwksUrl: `http://127.0.0.1:${deadPort}/jwks`,
      },
    },
  });
  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  const jwt = [base64('{"alg":"RS256","kid":"k"}'), base64('{"sub":"alice"}'), "c2ln"]
    .join(".")
    .replace(/=/g, "");
  const initial = base64(`n,a=${ALICE.username},\x01auth=Bearer ${jwt}\x01\x01`);
  assert.equal(
    (await c.command(`AUTH OAUTHBEARER ${initial}`)).last,
    "454 4.7.0 Temporary authentication failure",
  );
  c.close();
});
