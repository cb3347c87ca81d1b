// GNU SASL's own client (`gsasl --smtp`: STARTTLS with GnuTLS, then AUTH) against the gateway:
// SCRAM-SHA-256 with a password, and EXTERNAL with the test PKI's client certificates. gsasl stops
// after authenticating, so these tests assert the exchange; msmtp.test.ts sends mail the same ways.
import assert from "node:assert/strict";
import { test } from "node:test";
import { run } from "../testing/run.ts";
import { ALICE, NO_LOCKOUTS, startTestGateway } from "../testing/test-gateway.ts";

interface GsaslRun {
  mechanism: "SCRAM-SHA-256" | "EXTERNAL";
  user?: string;
  password?: string;
  certificate?: { cert: string; key: string };
}

/** The SCRAM server-first message gsasl printed (base64 after the second `334`), decoded. */
function serverFirst(output: string): Map<string, string> {
  const challenges = [...output.matchAll(/^334 (\S+)$/gm)];
  const text = Buffer.from(challenges[0]?.[1] ?? "", "base64").toString("utf8");
  return new Map(text.split(",").map((field) => [field.slice(0, 1), field.slice(2)]));
}

test("gsasl authenticates to the gateway", async (t) => {
  const gw = await startTestGateway(t, {
    auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "EXTERNAL"], bruteForce: NO_LOCKOUTS },
  });

  async function gsasl(options: GsaslRun) {
    const result = await run("gsasl", [
      "--smtp",
      "--connect",
      `127.0.0.1:${gw.ports.submission}`,
      "--starttls",
      `--x509-ca-file=${gw.pki.caCert}`,
      ...(options.certificate
        ? [`--x509-cert-file=${options.certificate.cert}`, `--x509-key-file=${options.certificate.key}`]
        : []),
      // gsasl 2.2.0 holds TLS channel-binding data and then fails by itself, before sending its
      // client-first message, when the server offers no -PLUS mechanism; the gateway offers none.
      "--no-cb",
      "--mechanism",
      options.mechanism,
      ...(options.user === undefined ? [] : ["--authentication-id", options.user]),
      ...(options.password === undefined ? [] : ["--password", options.password]),
    ]);
    return { ...result, output: result.stdout + result.stderr };
  }

  const refused = (result: Awaited<ReturnType<typeof gsasl>>) => {
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /^535 5\.7\.8 Authentication credentials invalid$/m);
    assert.match(result.output, /^gsasl: server error$/m);
    assert.doesNotMatch(result.output, /^235 /m);
  };

  await t.test("SCRAM-SHA-256 with the right password gets 235 2.7.0", async () => {
    const result = await gsasl({
      mechanism: "SCRAM-SHA-256",
      user: ALICE.username,
      password: ALICE.password,
    });
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /^AUTH SCRAM-SHA-256$/m);
    assert.match(result.output, /^235 2\.7\.0 Authentication successful$/m);
    // gsasl checked the server signature (v=) before printing this: mutual authentication.
    assert.match(result.output, /^Client authentication finished \(server trusted\)\.\.\.$/m);
  });

  await t.test("SCRAM-SHA-256 with a wrong password gets 535 5.7.8", async () => {
    refused(await gsasl({ mechanism: "SCRAM-SHA-256", user: ALICE.username, password: "wrong" }));
  });

  await t.test("SCRAM-SHA-256 for an unknown user runs the same exchange, then 535 5.7.8", async () => {
    const known = serverFirst(
      (await gsasl({ mechanism: "SCRAM-SHA-256", user: ALICE.username, password: "x" })).output,
    );
    const first = await gsasl({ mechanism: "SCRAM-SHA-256", user: "nobody@example.test", password: "x" });
    const again = await gsasl({ mechanism: "SCRAM-SHA-256", user: "nobody@example.test", password: "x" });
    refused(first);
    refused(again);
    const decoy = serverFirst(first.output);
    // Same shape as a real user's parameters, and as stable across attempts as a real salt.
    assert.equal(decoy.get("i"), known.get("i"));
    assert.equal(
      Buffer.from(decoy.get("s") ?? "", "base64").length,
      Buffer.from(known.get("s") ?? "", "base64").length,
    );
    assert.equal(serverFirst(again.output).get("s"), decoy.get("s"));
  });

  await t.test("EXTERNAL with the CA-signed client certificate gets 235 2.7.0", async () => {
    const result = await gsasl({
      mechanism: "EXTERNAL",
      certificate: { cert: gw.pki.clientCert, key: gw.pki.clientKey },
    });
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /^250-AUTH SCRAM-SHA-256 PLAIN LOGIN EXTERNAL$/m);
    assert.match(result.output, /^235 2\.7\.0 Authentication successful$/m);
  });

  for (const [name, certificate] of [
    ["without a client certificate", undefined],
    ["with a certificate from an untrusted CA", { cert: gw.pki.rogueCert, key: gw.pki.rogueKey }],
  ] as const) {
    await t.test(`EXTERNAL ${name}: not offered, and 504 5.5.4 when tried anyway`, async () => {
      const result = await gsasl({ mechanism: "EXTERNAL", certificate });
      assert.match(result.output, /^250-AUTH SCRAM-SHA-256 PLAIN LOGIN$/m);
      assert.match(result.output, /^AUTH EXTERNAL$/m);
      // RFC 4954: a mechanism this connection does not offer is 504, and no failed login.
      assert.match(result.output, /^504 5\.5\.4 Unrecognized authentication mechanism$/m);
      assert.notEqual(result.code, 0, result.output);
      assert.doesNotMatch(result.output, /^235 /m);
    });
  }
});
