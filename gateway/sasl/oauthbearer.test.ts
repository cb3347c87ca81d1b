import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { oauthbearer } from "./oauthbearer.ts";
import {
  assertNeverAuthenticates,
  assertVouched,
  firstTerminal,
  mutated,
  outcome,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { BEARER_ERROR, fakeBackend } from "./testing/fake-backend.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
const backend = () =>
  fakeBackend({
    tokens: { [TOKEN]: "alice@example.test" },
    mayActAs: { "alice@example.test": ["team@example.test"] },
  });
// RFC 7628 §4.1's shape.
const frame = (gs2 = "n,a=alice@example.test,", auth = `Bearer ${TOKEN}`) =>
  text(`${gs2}\x01host=mx.example.test\x01port=587\x01auth=${auth}\x01\x01`);

describe("OAUTHBEARER", () => {
  test("is a plaintext mechanism: a bearer token is a password equivalent", () => {
    assert.equal(oauthbearer.plaintext, true);
  });

  test("a valid token authenticates as the backend's identity; the authzid is the claimed user", async () => {
    const b = backend();
    assert.deepEqual(await outcome(oauthbearer, b, [frame()]), {
      kind: "success",
      username: "alice@example.test",
    });
    assert.deepEqual(b.bearerClaims, ["alice@example.test"]);
  });

  test("without an authzid the token alone decides", async () => {
    const b = backend();
    const step = await outcome(oauthbearer, b, [text(`n,,\x01auth=Bearer ${TOKEN}\x01\x01`)]);
    assert.deepEqual(step, { kind: "success", username: "alice@example.test" });
    assert.deepEqual(b.bearerClaims, [""]);
  });

  test("without an initial response sends an empty challenge, then takes the next response", async () => {
    const steps = await run(oauthbearer, backend(), [undefined, frame()]);
    assert.deepEqual(steps[0], { kind: "challenge", data: Buffer.alloc(0) });
    assert.equal(steps[1]?.kind, "success");
  });

  test("an authzid naming someone else needs the backend's permission", async () => {
    const permitted = await outcome(oauthbearer, backend(), [frame("n,a=team@example.test,")]);
    assert.deepEqual(permitted, {
      kind: "success",
      username: "alice@example.test",
      authzid: "team@example.test",
    });
    const refused = await outcome(oauthbearer, backend(), [frame("n,a=boss@example.test,")]);
    assert.deepEqual(refused, { kind: "failure", reason: "invalid", username: "alice@example.test" });
  });

  test("a rejected token fails invalid with the error JSON, naming the claimed user", async () => {
    const step = await outcome(oauthbearer, backend(), [frame(undefined, "Bearer revoked")]);
    assert.equal(step.kind === "failure" && step.reason, "invalid");
    assert.equal(step.kind === "failure" && step.username, "alice@example.test");
    assert.deepEqual(JSON.parse(step.kind === "failure" ? String(step.errorData) : "null"), BEARER_ERROR);
  });

  test("an unavailable issuer fails unavailable", async () => {
    const step = await outcome(oauthbearer, fakeBackend({ unavailable: true }), [frame()]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "alice@example.test" });
  });

  test("the scheme is case-insensitive, y is accepted and unknown keys are ignored", async () => {
    for (const input of [
      frame(undefined, `BEARER ${TOKEN}`),
      frame("y,a=alice@example.test,"),
      text(`n,,\x01auth=Bearer ${TOKEN}\x01future=value\x01\x01`),
    ]) {
      assert.equal((await outcome(oauthbearer, backend(), [input])).kind, "success", input.toString());
    }
  });

  test("channel binding (p=) fails invalid", async () => {
    const step = await outcome(oauthbearer, backend(), [frame("p=tls-unique,,")]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid" });
  });

  const malformed: [string, Buffer][] = [
    ["an empty message", Buffer.alloc(0)],
    ["no gs2 header", text(`\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ["another byte where \\x01 must follow the gs2 header", text(`n,,Xauth=Bearer ${TOKEN}\x01\x01`)],
    ["no final \\x01", text(`n,,\x01auth=Bearer ${TOKEN}\x01`)],
    ["no auth", text("n,,\x01host=mx\x01\x01")],
    ["a repeated auth", text(`n,,\x01auth=Bearer ${TOKEN}\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ["a bad key", text(`n,,\x01h0st=x\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ["a control character in a value", text(`n,,\x01host=a\x00b\x01auth=Bearer ${TOKEN}\x01\x01`)],
    ["CR LF in the authzid", frame("n,a=a\r\nb,")],
    ["an unknown = escape in the authzid", frame("n,a=a=41,")],
    ["another scheme", frame(undefined, "Basic YTpi")],
    ["a token with a space", frame(undefined, "Bearer a b")],
    [
      "invalid UTF-8",
      Buffer.concat([text("n,a="), Buffer.of(0xc3), text(`,\x01auth=Bearer ${TOKEN}\x01\x01`)]),
    ],
  ];
  for (const [name, input] of malformed) {
    test(`${name} is malformed`, async () => {
      const step = await outcome(oauthbearer, backend(), [input]);
      assert.equal(step.kind === "failure" && step.reason, "malformed");
    });
  }

  test("a finished exchange fails every further step (the \\x01 answer to an error is the driver's)", async () => {
    const steps = await run(oauthbearer, backend(), [frame(undefined, "Bearer revoked"), text("\x01")]);
    assert.equal(steps[0]?.kind, "failure");
    assert.deepEqual(steps[1], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    await assertNeverAuthenticates(oauthbearer, backend);
  });

  test("property: a mutated frame authenticates only with the real token and a permitted authzid", async () => {
    const valid = fc.constantFrom(frame(), frame("n,a=team@example.test,"), frame("n,,"));
    await fc.assert(
      fc.asyncProperty(valid.chain(mutated), async (input) => {
        const b = backend();
        assertVouched(firstTerminal(await run(oauthbearer, b, [input, input])), b);
      }),
    );
  });
});
