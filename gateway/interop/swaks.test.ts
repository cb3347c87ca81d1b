// swaks (Perl, Net::SSLeay, its own AUTH code) against the gateway: PLAIN, LOGIN and CRAM-MD5 over
// STARTTLS on the submission port and over implicit TLS on the submissions port.
import assert from "node:assert/strict";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { assertDeliveredOnce, type RunResult, run, sinkCopies, testMessage } from "../testing/run.ts";
import { startTestGateway, type TestUser } from "../testing/test-gateway.ts";

const CAROL: TestUser = { username: "carol@example.test", password: "carol-secret", cramMd5: true };
const SWAKS_AUTH_FAILED = 28; // swaks(1): "error while authenticating"

interface SwaksRun {
  port: number;
  /** --tls: STARTTLS required; --tlsc: TLS on connect; neither: plaintext. */
  tls: "--tls" | "--tlsc" | undefined;
  mechanism: string;
  username: string;
  password: string;
}

test("swaks submits through the gateway", async (t) => {
  const gw = await startTestGateway(t, {
    users: [CAROL],
    auth: { mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5"] },
  });

  async function swaks(options: SwaksRun) {
    const message = testMessage(CAROL.username, "dave@example.net");
    const result = await run(
      "swaks",
      [
        ...["--server", `127.0.0.1:${options.port}`, "--helo", "client.test"],
        ...(options.tls ? [options.tls, "--tls-verify", "--tls-ca-path", gw.pki.caCert] : []),
        ...[
          "--auth",
          options.mechanism,
          "--auth-user",
          options.username,
          "--auth-password",
          options.password,
        ],
        ...["--from", message.from, "--to", message.to, "--data", "-"],
        ...["--timeout", "10"],
      ],
      { input: message.text },
    );
    return { ...result, output: result.stdout + result.stderr, token: message.token };
  }

  const transports = [
    { name: "STARTTLS on submission", port: gw.ports.submission, tls: "--tls" },
    { name: "implicit TLS on submissions", port: gw.ports.submissions, tls: "--tlsc" },
  ] as const;

  const failed = async (result: RunResult & { output: string; token: string }) => {
    assert.equal(result.code, SWAKS_AUTH_FAILED, result.output);
    assert.match(result.output, /^<~\* 535 5\.7\.8 Authentication credentials invalid$/m);
    assert.doesNotMatch(result.output, /MAIL FROM/);
    assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
  };

  for (const mechanism of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
    for (const { name, port, tls } of transports) {
      const base = { port, tls, mechanism, username: CAROL.username };

      await t.test(`${mechanism} over ${name}: the message arrives upstream once, as ESMTPSA`, async () => {
        const result = await swaks({ ...base, password: CAROL.password });
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, new RegExp(`^ ~> AUTH ${mechanism}\\b`, "m"));
        assert.match(result.output, /^<~ {2}235 2\.7\.0 Authentication successful$/m);
        await assertDeliveredOnce(gw.sink, result.token);
      });

      await t.test(`${mechanism} over ${name}: a wrong password gets 535 5.7.8`, async () => {
        await failed(await swaks({ ...base, password: "not-carols-password" }));
      });

      await t.test(`${mechanism} over ${name}: an unknown user gets 535 5.7.8`, async () => {
        await failed(await swaks({ ...base, username: "nobody@example.test", password: CAROL.password }));
      });
    }
  }

  await t.test("PLAIN without TLS on submission: not offered, and refused with 538 if sent", async () => {
    const result = await swaks({
      port: gw.ports.submission,
      tls: undefined,
      mechanism: "PLAIN",
      username: CAROL.username,
      password: CAROL.password,
    });
    // swaks never sends a mechanism the server did not advertise, so it gives up by itself.
    assert.equal(result.code, SWAKS_AUTH_FAILED, result.output);
    assert.match(result.output, /^<- {2}250-AUTH SCRAM-SHA-256 CRAM-MD5$/m);
    assert.match(result.output, /Auth not attempted, requested type not available/);
    assert.doesNotMatch(result.output, /-> AUTH/);
    assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
    // What a client that sends it anyway gets:
    const c = await RawSmtp.session(gw.ports.submission, { tls: "none" });
    assert.equal(
      (await c.command(`AUTH PLAIN ${authPlain(CAROL.username, CAROL.password)}`)).last,
      "538 5.7.11 Encryption required for requested authentication mechanism",
    );
    c.close();
  });
});
