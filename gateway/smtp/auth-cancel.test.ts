// What no well-behaved client sends, for every mechanism: `*` at a 334 prompt (RFC 4954 §4: 501 and
// the exchange ends), and bytes that are not base64, at a prompt or as the initial response. For the
// token mechanisms, the RFC 7628 error path: after the 334 error challenge, any answer gets 535.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { base64, RawSmtp, type Reply } from "../testing/raw-smtp.ts";
import { ALICE, NO_LOCKOUTS, startTestGateway } from "../testing/test-gateway.ts";

const CANCELLED = "501 5.7.0 Authentication cancelled";
const UNDECODABLE = "501 5.5.2 Cannot decode response";
const INVALID = "535 5.7.8 Authentication credentials invalid";
const NOT_BASE64 = "!!not*base64!!";

interface Row {
  name: string;
  mechanism: string;
  /** Commands that leave the exchange waiting for the client's answer to a 334. */
  toPrompt(client: RawSmtp): Promise<Reply>;
}

const rows: Row[] = [
  { name: "PLAIN", mechanism: "PLAIN", toPrompt: (c) => c.command("AUTH PLAIN") },
  { name: "LOGIN at its user-name prompt", mechanism: "LOGIN", toPrompt: (c) => c.command("AUTH LOGIN") },
  {
    name: "LOGIN at its password prompt",
    mechanism: "LOGIN",
    toPrompt: async (c) => {
      assert.equal((await c.command("AUTH LOGIN")).code, 334);
      return c.command(base64(ALICE.username));
    },
  },
  { name: "CRAM-MD5", mechanism: "CRAM-MD5", toPrompt: (c) => c.command("AUTH CRAM-MD5") },
  {
    // Cancelled after the server-first message, the point where a real exchange has state.
    name: "SCRAM-SHA-256 at server-first",
    mechanism: "SCRAM-SHA-256",
    toPrompt: (c) => c.command(`AUTH SCRAM-SHA-256 ${base64(`n,,n=${ALICE.username},r=cancel-test-nonce`)}`),
  },
  { name: "XOAUTH2", mechanism: "XOAUTH2", toPrompt: (c) => c.command("AUTH XOAUTH2") },
  { name: "OAUTHBEARER", mechanism: "OAUTHBEARER", toPrompt: (c) => c.command("AUTH OAUTHBEARER") },
  { name: "EXTERNAL", mechanism: "EXTERNAL", toPrompt: (c) => c.command("AUTH EXTERNAL") },
];

test("cancelled and undecodable AUTH exchanges, for every mechanism", async (t) => {
  const gw = await startTestGateway(t, {
    oauth: true,
    users: [{ ...ALICE, cramMd5: true }],
    auth: {
      mechanisms: ["SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"],
      bruteForce: NO_LOCKOUTS,
    },
  });
  const issuer = gw.oauth;
  assert.ok(issuer);
  // With the client certificate, so that EXTERNAL is offered like the rest.
  const tlsOptions = { cert: await readFile(gw.pki.clientCert), key: await readFile(gw.pki.clientKey) };
  const session = () => RawSmtp.session(gw.ports.submissions, { tls: "implicit", tlsOptions });

  /** The exchange ended without anyone logged in, and the connection still takes commands. */
  const assertStillAnonymous = async (c: RawSmtp) => {
    assert.equal(
      (await c.command("MAIL FROM:<alice@example.test>")).last,
      "530 5.7.0 Authentication required",
    );
    c.close();
  };

  for (const row of rows) {
    await t.test(`${row.name}: "*" at the prompt gets ${CANCELLED}`, async () => {
      const c = await session();
      assert.equal((await row.toPrompt(c)).code, 334);
      assert.equal((await c.command("*")).last, CANCELLED);
      await assertStillAnonymous(c);
    });

    await t.test(`${row.name}: non-base64 at the prompt gets ${UNDECODABLE}`, async () => {
      const c = await session();
      assert.equal((await row.toPrompt(c)).code, 334);
      assert.equal((await c.command(NOT_BASE64)).last, UNDECODABLE);
      await assertStillAnonymous(c);
    });
  }

  for (const mechanism of new Set(rows.map((row) => row.mechanism))) {
    await t.test(`${mechanism}: a non-base64 initial response gets ${UNDECODABLE}`, async () => {
      const c = await session();
      assert.equal((await c.command(`AUTH ${mechanism} ${NOT_BASE64}`)).last, UNDECODABLE);
      await assertStillAnonymous(c);
    });
  }

  const forgedToken = () => issuer.token(ALICE.username, { forged: true });
  const bearerInitial = {
    XOAUTH2: (token: string) => base64(`user=${ALICE.username}\x01auth=Bearer ${token}\x01\x01`),
    OAUTHBEARER: (token: string) => base64(`n,a=${ALICE.username},\x01auth=Bearer ${token}\x01\x01`),
  };
  for (const [mechanism, initial] of Object.entries(bearerInitial)) {
    for (const [answer, name] of [
      [base64("\x01"), "the RFC 7628 dummy answer"],
      ["*", "a cancel"],
      [NOT_BASE64, "non-base64"],
    ] as const) {
      await t.test(
        `${mechanism}: a rejected token's error challenge, then ${name} gets ${INVALID}`,
        async () => {
          const c = await session();
          const challenge = await c.command(`AUTH ${mechanism} ${initial(await forgedToken())}`);
          assert.equal(challenge.code, 334);
          const error = JSON.parse(Buffer.from(challenge.lines[0] ?? "", "base64").toString("utf8"));
          assert.equal(error.status, "invalid_token");
          assert.equal((await c.command(answer)).last, INVALID);
          await assertStillAnonymous(c);
        },
      );
    }
  }
});
