// curl's SMTP client (libcurl with OpenSSL): smtp:// with --ssl-reqd (STARTTLS required) on the
// submission port and smtps:// on the submissions port, with AUTH=PLAIN and AUTH=LOGIN.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertDeliveredOnce, run, sinkCopies, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";

const CURLE_LOGIN_DENIED = 67;

test("curl submits through the gateway", async (t) => {
  const gw = await startTestGateway(t);
  const dir = await mkdtemp(join(tmpdir(), "postern-curl-"));
  t.after(() => rm(dir, { recursive: true, force: true }));

  async function curl(options: { url: string; tls: string[]; mechanism: string; password: string }) {
    const message = testMessage(ALICE.username, "bob@example.net");
    const file = join(dir, `${message.token}.eml`);
    await writeFile(file, message.text);
    const result = await run("curl", [
      "--silent",
      "--show-error",
      "--verbose",
      "--max-time",
      "10",
      "--url",
      `${options.url}/client.test`, // the URL path is curl's EHLO name
      ...options.tls,
      "--cacert",
      gw.pki.caCert,
      "--login-options",
      `AUTH=${options.mechanism}`,
      "--user",
      `${ALICE.username}:${options.password}`,
      "--mail-from",
      message.from,
      "--mail-rcpt",
      message.to,
      "--upload-file",
      file,
    ]);
    return { ...result, token: message.token };
  }

  const transports = [
    { name: "smtp:// --ssl-reqd", url: `smtp://127.0.0.1:${gw.ports.submission}`, tls: ["--ssl-reqd"] },
    { name: "smtps://", url: `smtps://127.0.0.1:${gw.ports.submissions}`, tls: [] },
  ];

  for (const { name, url, tls } of transports) {
    for (const mechanism of ["PLAIN", "LOGIN"]) {
      await t.test(`${name} with AUTH=${mechanism}: the message arrives upstream once`, async () => {
        const result = await curl({ url, tls, mechanism, password: ALICE.password });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, new RegExp(`^> AUTH ${mechanism}\\b`, "m"));
        assert.match(result.stderr, /^< 235 2\.7\.0 Authentication successful/m);
        await assertDeliveredOnce(gw.sink, result.token);
      });

      await t.test(`${name} with AUTH=${mechanism}: a wrong password exits 67 (login denied)`, async () => {
        const result = await curl({ url, tls, mechanism, password: "wrong" });
        assert.equal(result.code, CURLE_LOGIN_DENIED, result.stderr);
        assert.match(result.stderr, /^< 535 5\.7\.8 Authentication credentials invalid/m);
        assert.doesNotMatch(result.stderr, /^> MAIL FROM/m);
        assert.deepEqual(await sinkCopies(gw.sink, result.token), []);
      });
    }
  }
});
