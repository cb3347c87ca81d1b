// msmtp (GnuTLS; GNU SASL for SCRAM and EXTERNAL, its own OAUTHBEARER and XOAUTH2) sending real mail
// through the gateway: SCRAM-SHA-256 with a password, OAUTHBEARER and XOAUTH2 with JWTs from a real
// issuer whose JWKS the gateway fetches over HTTP, and EXTERNAL with the test PKI's client certificate.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLIENT_CERT_EMAIL } from "../testing/certificates.ts";
import { assertDeliveredOnce, run, sinkCopies, testMessage } from "../testing/run.ts";
import { ALICE, NO_LOCKOUTS, startTestGateway } from "../testing/test-gateway.ts";

const EX_NOPERM = 77; // msmtp's exit code for an authentication failure (sysexits.h)
const EX_UNAVAILABLE = 69; // ... and for a mechanism the server does not offer

interface MsmtpRun {
  port: number;
  starttls: boolean;
  auth: "scram-sha-256" | "oauthbearer" | "xoauth2" | "external";
  user: string;
  /** The password or bearer token; msmtp reads it with --passwordeval, so it is never in argv. */
  secret?: string;
  certificate?: { cert: string; key: string };
}

test("msmtp submits through the gateway", async (t) => {
  assert.equal(ALICE.username, CLIENT_CERT_EMAIL, "the client certificate names ALICE");
  const gw = await startTestGateway(t, {
    oauth: true,
    auth: {
      mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2", "EXTERNAL"],
      bruteForce: NO_LOCKOUTS,
    },
  });
  const issuer = gw.oauth;
  assert.ok(issuer);

  async function msmtp(options: MsmtpRun) {
    const message = testMessage(ALICE.username, "bob@example.net");
    const args = [
      "-C",
      "/dev/null", // no ~/.msmtprc or /etc/msmtprc: only what this test says
      "--host=127.0.0.1",
      `--port=${options.port}`,
      "--tls=on",
      `--tls-starttls=${options.starttls ? "on" : "off"}`,
      `--tls-trust-file=${gw.pki.caCert}`,
      ...(options.certificate
        ? [`--tls-cert-file=${options.certificate.cert}`, `--tls-key-file=${options.certificate.key}`]
        : []),
      `--auth=${options.auth}`,
      ...(options.user === "" ? [] : [`--user=${options.user}`]),
      ...(options.secret === undefined ? [] : ['--passwordeval=printf %s "$POSTERN_SECRET"']),
      `--from=${message.from}`,
      "--timeout=10",
      "--debug",
      message.to,
    ];
    const env = { ...process.env, POSTERN_SECRET: options.secret ?? "" };
    const result = await run("msmtp", args, { input: message.text, env });
    return { ...result, output: result.stdout + result.stderr, token: message.token };
  }

  const starttls = { port: gw.ports.submission, starttls: true };
  const implicit = { port: gw.ports.submissions, starttls: false };

  async function assertRefused(result: Awaited<ReturnType<typeof msmtp>>, method: string) {
    assert.equal(result.code, EX_NOPERM, result.output);
    assert.match(result.output, new RegExp(`^msmtp: authentication failed \\(method ${method}\\)$`, "m"));
    assert.match(result.output, /^msmtp: server message: 535 5\.7\.8 Authentication credentials invalid$/m);
    assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
  }

  for (const [name, transport] of [
    ["STARTTLS", starttls],
    ["implicit TLS", implicit],
  ] as const) {
    await t.test(`SCRAM-SHA-256 over ${name}: the message arrives upstream once`, async () => {
      const result = await msmtp({
        ...transport,
        auth: "scram-sha-256",
        user: ALICE.username,
        secret: ALICE.password,
      });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /^--> AUTH SCRAM-SHA-256$/m);
      assert.match(result.output, /^<-- 235 2\.7\.0 Authentication successful$/m);
      await assertDeliveredOnce(gw.sink, result.token);
    });
  }

  await t.test("SCRAM-SHA-256: a wrong password gets 535 5.7.8", async () => {
    const result = await msmtp({ ...starttls, auth: "scram-sha-256", user: ALICE.username, secret: "wrong" });
    await assertRefused(result, "SCRAM-SHA-256");
  });

  await t.test("SCRAM-SHA-256: an unknown user gets 535 5.7.8", async () => {
    const result = await msmtp({
      ...starttls,
      auth: "scram-sha-256",
      user: "nobody@example.test",
      secret: ALICE.password,
    });
    await assertRefused(result, "SCRAM-SHA-256");
  });

  const now = () => Math.floor(Date.now() / 1000);
  const eve = "eve@example.test";
  const badTokens = [
    { name: "an expired token", user: ALICE.username, token: { expiresAt: now() - 600 } },
    { name: "a token for another audience", user: ALICE.username, token: { audience: "other" } },
    { name: "a token signed with a key not in the JWKS", user: ALICE.username, token: { forged: true } },
    { name: "a valid token for a user the gateway does not know", user: eve, token: {} },
    { name: "an ID token (typ JWT), not an access token", user: ALICE.username, token: { typ: "JWT" } },
    { name: "a token issued two hours ago", user: ALICE.username, token: { issuedAt: now() - 7200 } },
    {
      name: "a token that does not say its email is verified",
      user: ALICE.username,
      token: {},
      claims: { email_verified: undefined },
    },
  ];

  for (const [auth, method] of [
    ["oauthbearer", "OAUTHBEARER"],
    ["xoauth2", "XOAUTH2"],
  ] as const) {
    await t.test(`${method} with a valid JWT: the message arrives upstream once`, async () => {
      const secret = await issuer.token(ALICE.username);
      const result = await msmtp({ ...starttls, auth, user: ALICE.username, secret });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, new RegExp(`^--> AUTH ${method}\\b`, "m"));
      assert.match(result.output, /^<-- 235 2\.7\.0 Authentication successful$/m);
      await assertDeliveredOnce(gw.sink, result.token);
    });

    for (const bad of badTokens) {
      await t.test(`${method} with ${bad.name}: the RFC 7628 error challenge, then 535 5.7.8`, async () => {
        const secret = await issuer.token(bad.user, bad.token, "claims" in bad ? bad.claims : {});
        const result = await msmtp({ ...starttls, auth, user: bad.user, secret });
        await assertRefused(result, method);
        const challenge = /^<-- 334 (\S+)$/m.exec(result.output)?.[1] ?? "";
        const error = JSON.parse(Buffer.from(challenge, "base64").toString("utf8"));
        assert.equal(error.status, "invalid_token");
        assert.equal(
          error["openid-configuration"],
          `${issuer.config.issuer}.well-known/openid-configuration`,
        );
      });
    }
  }

  await t.test(
    "EXTERNAL with the CA-signed client certificate: the message arrives upstream once",
    async () => {
      const result = await msmtp({
        ...implicit,
        auth: "external",
        user: ALICE.username,
        certificate: { cert: gw.pki.clientCert, key: gw.pki.clientKey },
      });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /^<-- 250-AUTH SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2 EXTERNAL$/m);
      assert.match(result.output, /^<-- 235 2\.7\.0 Authentication successful$/m);
      await assertDeliveredOnce(gw.sink, result.token);
    },
  );

  await t.test(
    "EXTERNAL without a user line: msmtp's pipelined MAIL FROM gets the exchange's own 501",
    async () => {
      // Without --user msmtp sends "AUTH EXTERNAL", and after the server's empty 334 challenge pipelines
      // MAIL, RCPT and DATA instead of an (empty) response. The first of them is the exchange's
      // continuation: RFC 4954 wants the exchange's answer (501, not base64), not smtp-server's 530 for
      // a command before AUTH — which left the exchange hanging and swallowed the client's next line.
      const result = await msmtp({
        ...implicit,
        auth: "external",
        user: "",
        certificate: { cert: gw.pki.clientCert, key: gw.pki.clientKey },
      });
      assert.match(result.output, /^--> AUTH EXTERNAL$/m);
      assert.match(result.output, /^<-- 501 5\.5\.2 Cannot decode response$/m);
      assert.doesNotMatch(result.output, /^<-- 530 /m);
      assert.notEqual(result.code, 0);
      assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
    },
  );

  for (const [name, certificate] of [
    ["without a client certificate", undefined],
    ["with a certificate from an untrusted CA", { cert: gw.pki.rogueCert, key: gw.pki.rogueKey }],
  ] as const) {
    await t.test(`EXTERNAL ${name}: not offered, so msmtp does not try it`, async () => {
      const result = await msmtp({ ...starttls, auth: "external", user: ALICE.username, certificate });
      assert.equal(result.code, EX_UNAVAILABLE, result.output);
      assert.match(result.output, /^<-- 250-AUTH SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2$/m);
      assert.match(result.output, /the server does not support authentication method EXTERNAL/);
      assert.doesNotMatch(result.output, /^--> AUTH/m);
      assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
    });
  }
});
