import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { SaslStep } from "./mechanism.ts";
import { createScramSha256, scramSha256 } from "./scram-sha-256.ts";
import {
  assertNeverAuthenticates,
  firstTerminal,
  mutated,
  outcome,
  responseLists,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { fakeBackend, SCRAM_ITERATIONS } from "./testing/fake-backend.ts";
import { scramClient } from "./testing/scram-client.ts";

// RFC 7677 §3's worked example, message by message.
const RFC = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};
const rfcMechanism = createScramSha256({ serverNonce: () => RFC.serverNonce });
const rfcBackend = () =>
  fakeBackend({
    users: {
      user: { password: "pencil", scramSalt: Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64") },
      "a,b=c": { password: "pencil" },
      IX: { password: "pencil" },
    },
    mayActAs: { user: ["shared"] },
  });
// One backend for the tests that only read it, so SCRAM keys are derived once.
const shared = rfcBackend();

function challengeData(step: SaslStep | undefined): Buffer {
  assert.equal(step?.kind, "challenge", `expected a challenge, got ${JSON.stringify(step)}`);
  return step?.kind === "challenge" ? step.data : Buffer.alloc(0);
}

/** Runs a full honest exchange with the test client. */
async function authenticate(
  username: string,
  password: string,
  options: { gs2Header?: string } = {},
): Promise<{ step: SaslStep; expected: string }> {
  const client = scramClient(username, password, options);
  const exchange = scramSha256.start({ secure: false, serverName: "mx.example.test" }, shared);
  const serverFirst = challengeData(await exchange.step(client.first));
  const final = client.final(serverFirst);
  return { step: await exchange.step(final.message), expected: final.serverFinal };
}

describe("SCRAM-SHA-256", () => {
  test("is not a plaintext mechanism", () => {
    assert.equal(scramSha256.plaintext, false);
  });

  test("RFC 7677 §3 example: exact server messages and server signature", async () => {
    const steps = await run(rfcMechanism, rfcBackend(), [text(RFC.clientFirst), text(RFC.clientFinal)]);
    assert.deepEqual(steps, [
      { kind: "challenge", data: text(RFC.serverFirst) },
      { kind: "success", username: "user", finalData: text(RFC.serverFinal) },
    ]);
  });

  test("without an initial response the server sends an empty challenge first", async () => {
    const steps = await run(rfcMechanism, shared, [undefined, text(RFC.clientFirst), text(RFC.clientFinal)]);
    assert.deepEqual(steps[0], { kind: "challenge", data: Buffer.alloc(0) });
    assert.equal(steps[2]?.kind, "success");
  });

  test("random nonces: an honest client authenticates and gets the signature it expects", async () => {
    const { step, expected } = await authenticate("user", "pencil");
    assert.equal(step.kind, "success");
    assert.equal(step.kind === "success" && step.finalData?.toString(), expected);
  });

  test("the server nonce is fresh, at least 18 random bytes of base64 after the client's", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const serverFirst = challengeData(
        (await run(scramSha256, shared, [text(RFC.clientFirst)]))[0],
      ).toString();
      const nonce = /^r=rOprNGfwEbeRWgbNEkqO([A-Za-z0-9+/=]+),s=/.exec(serverFirst)?.[1] ?? "";
      assert.ok(Buffer.from(nonce, "base64").length >= 18, serverFirst);
      nonces.add(nonce);
    }
    assert.equal(nonces.size, 2);
  });

  test("a wrong password fails invalid at the proof and names the user", async () => {
    const { step } = await authenticate("user", "pencil2");
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "user" });
  });

  test("an unknown user gets a decoy round trip and fails at the proof", async () => {
    const client = scramClient("nobody", "pencil");
    const exchange = scramSha256.start({ secure: false, serverName: "mx" }, shared);
    const serverFirst = challengeData(await exchange.step(client.first)).toString();
    assert.match(serverFirst, new RegExp(`^r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=${SCRAM_ITERATIONS}$`));
    const step = await exchange.step(client.final(text(serverFirst)).message);
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "nobody" });
  });

  test("an unavailable store fails unavailable", async () => {
    const step = await outcome(rfcMechanism, fakeBackend({ unavailable: true }), [text(RFC.clientFirst)]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "user" });
  });

  test("y,, is accepted (we never offer -PLUS); p= channel binding fails invalid", async () => {
    assert.equal((await authenticate("user", "pencil", { gs2Header: "y,," })).step.kind, "success");
    const step = await outcome(rfcMechanism, shared, [text("p=tls-unique,,n=user,r=abc")]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid" });
  });

  test("an authzid: self is plain success, a permitted one is carried, others fail invalid", async () => {
    const { step: self } = await authenticate("user", "pencil", { gs2Header: "n,a=user," });
    assert.equal(self.kind === "success" && self.username, "user");
    assert.equal(self.kind === "success" && self.authzid, undefined);
    const { step: permitted } = await authenticate("user", "pencil", { gs2Header: "n,a=shared," });
    assert.equal(permitted.kind === "success" && permitted.authzid, "shared");
    const { step: refused } = await authenticate("user", "pencil", { gs2Header: "n,a=boss," });
    assert.deepEqual(refused, { kind: "failure", reason: "invalid", username: "user" });
  });

  test("saslnames decode =2C and =3D", async () => {
    const { step } = await authenticate("a,b=c", "pencil");
    assert.equal(step.kind === "success" && step.username, "a,b=c");
  });

  test("the user name is SASLprep'd before lookup", async () => {
    // U+00AD SOFT HYPHEN is mapped to nothing (RFC 4013 §2.2 via RFC 3454 B.1).
    const { step } = await authenticate("I\u00ADX", "pencil");
    assert.equal(step.kind === "success" && step.username, "IX");
  });

  const malformedFirst: [string, string | Buffer][] = [
    ["an empty message", ""],
    ["a gs2 header alone", "n,,"],
    ["no nonce", "n,,n=user"],
    ["attributes out of order", "n,,r=abc,n=user"],
    ["an unknown cbind flag", "x,,n=user,r=abc"],
    ["a mandatory m= extension", "n,,m=ext,n=user,r=abc"],
    ["an empty user name", "n,,n=,r=abc"],
    ["an unknown = escape in the user name", "n,,n=us=41er,r=abc"],
    ["a lowercase =2c escape", "n,,n=a=2cb,r=abc"],
    ["an unknown = escape in the authzid", "n,a=b=3d,n=user,r=abc"],
    ["CR LF in the user name", "n,,n=us\r\ner,r=abc"],
    ["LF in the authzid", "n,a=x\ny,n=user,r=abc"],
    ["a non-printable nonce", "n,,n=user,r=ab\x7f"],
    ["an empty nonce", "n,,n=user,r="],
    ["a bad extension", "n,,n=user,r=abc,extension"],
    ["invalid UTF-8", Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])],
  ];
  for (const [name, message] of malformedFirst) {
    test(`client-first with ${name} is malformed`, async () => {
      const step = await outcome(rfcMechanism, shared, [
        typeof message === "string" ? text(message) : message,
      ]);
      assert.deepEqual(step, { kind: "failure", reason: "malformed" });
    });
  }

  test("client-first extensions after the nonce are accepted", async () => {
    const steps = await run(rfcMechanism, shared, [text(`${RFC.clientFirst},x=ext`)]);
    assert.equal(steps[0]?.kind, "challenge");
  });

  const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const malformedFinal: [string, string][] = [
    ["no proof", `c=biws,r=${nonce}`],
    ["the proof not last", `c=biws,r=${nonce},p=${proof},x=y`],
    ["a short proof", `c=biws,r=${nonce},p=${Buffer.alloc(31).toString("base64")}`],
    ["a non-base64 proof", `c=biws,r=${nonce},p=${proof.replace("+", "!")}`],
    ["a non-canonical base64 proof", `c=biws,r=${nonce},p=${proof.slice(0, -2)}R=`],
    ["attributes out of order", `r=${nonce},c=biws,p=${proof}`],
    ["an empty message", ""],
  ];
  for (const [name, message] of malformedFinal) {
    test(`client-final with ${name} is malformed and names the user`, async () => {
      const step = await outcome(rfcMechanism, shared, [text(RFC.clientFirst), text(message)]);
      assert.deepEqual(step, { kind: "failure", reason: "malformed", username: "user" });
    });
  }

  test("client-final must echo the gs2 header and the combined nonce, even when correctly signed", async () => {
    const tampered = [{ gs2Header: "y,," }, { nonce: "rOprNGfwEbeRWgbNEkqO" }, { nonce: `${nonce}x` }];
    for (const tamper of tampered) {
      const client = scramClient("user", "pencil", { clientNonce: "rOprNGfwEbeRWgbNEkqO" });
      const exchange = rfcMechanism.start({ secure: false, serverName: "mx" }, shared);
      const serverFirst = challengeData(await exchange.step(client.first));
      const step = await exchange.step(client.final(serverFirst, tamper).message);
      assert.deepEqual(
        step,
        { kind: "failure", reason: "invalid", username: "user" },
        JSON.stringify(tamper),
      );
    }
  });

  test("the test client reproduces RFC 7677's client-final, so tampered messages differ only where meant", () => {
    const client = scramClient("user", "pencil", { clientNonce: "rOprNGfwEbeRWgbNEkqO" });
    assert.equal(client.first.toString(), RFC.clientFirst);
    const final = client.final(text(RFC.serverFirst));
    assert.deepEqual([final.message.toString(), final.serverFinal], [RFC.clientFinal, RFC.serverFinal]);
  });

  test("a finished exchange fails every further step", async () => {
    const steps = await run(rfcMechanism, shared, [
      text(RFC.clientFirst),
      text(RFC.clientFinal),
      Buffer.alloc(0),
    ]);
    assert.equal(steps[1]?.kind, "success");
    assert.deepEqual(steps[2], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    await assertNeverAuthenticates(rfcMechanism, () => shared);
  });

  test("property: arbitrary client-finals after a valid client-first never authenticate", async () => {
    await fc.assert(
      fc.asyncProperty(responseLists, async (responses) => {
        const steps = await run(rfcMechanism, shared, [text(RFC.clientFirst), ...responses.filter((r) => r)]);
        assert.notEqual(firstTerminal(steps)?.kind, "success");
      }),
    );
  });

  test("property: mutated messages authenticate only when both are unchanged", async () => {
    const first = text(RFC.clientFirst);
    const final = text(RFC.clientFinal);
    await fc.assert(
      fc.asyncProperty(mutated(first), mutated(final), async (sentFirst, sentFinal) => {
        const step = firstTerminal(await run(rfcMechanism, shared, [sentFirst, sentFinal, sentFinal]));
        if (step?.kind === "success") assert.ok(sentFirst.equals(first) && sentFinal.equals(final));
      }),
    );
  });
});
