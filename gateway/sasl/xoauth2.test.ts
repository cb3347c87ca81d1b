import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_TOKEN_OCTETS } from "./bearer.ts";
import type { SaslStep } from "./mechanism.ts";
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
import { xoauth2 } from "./xoauth2.ts";

const TOKEN = "ya29.a0AfH6SM-b_c~d+e/f==";
const backend = () => fakeBackend({ tokens: { [TOKEN]: "alice@example.test" } });
const frame = (user: string, auth: string) => text(`user=${user}\x01auth=${auth}\x01\x01`);

function errorJson(step: SaslStep): unknown {
  assert.equal(step.kind, "failure");
  return step.kind === "failure" && step.errorData ? JSON.parse(step.errorData.toString()) : undefined;
}

describe("XOAUTH2", () => {
  test("is a plaintext mechanism: a bearer token is a password equivalent", () => {
    assert.equal(xoauth2.plaintext, true);
  });

  test("a valid token authenticates as the backend's identity and the named user is passed on", async () => {
    const b = backend();
    const step = await outcome(xoauth2, b, [frame("Alice@Example.test", `Bearer ${TOKEN}`)]);
    assert.deepEqual(step, { kind: "success", username: "alice@example.test" });
    assert.deepEqual(b.bearerClaims, ["Alice@Example.test"]);
  });

  test("without an initial response sends an empty challenge, then takes the next response", async () => {
    const steps = await run(xoauth2, backend(), [undefined, frame("alice@example.test", `Bearer ${TOKEN}`)]);
    assert.deepEqual(steps[0], { kind: "challenge", data: Buffer.alloc(0) });
    assert.equal(steps[1]?.kind, "success");
  });

  test("the scheme is case-insensitive and the pairs may come in any order", async () => {
    assert.equal(
      (await outcome(xoauth2, backend(), [frame("a@example.test", `bEARER ${TOKEN}`)])).kind,
      "success",
    );
    const swapped = text(`auth=Bearer ${TOKEN}\x01user=a@example.test\x01\x01`);
    assert.equal((await outcome(xoauth2, backend(), [swapped])).kind, "success");
  });

  test("a rejected token fails invalid, names the user and carries the backend's error JSON", async () => {
    const step = await outcome(xoauth2, backend(), [frame("alice@example.test", "Bearer expired")]);
    assert.equal(step.kind === "failure" && step.reason, "invalid");
    assert.equal(step.kind === "failure" && step.username, "alice@example.test");
    assert.deepEqual(errorJson(step), BEARER_ERROR);
  });

  test("an unavailable issuer fails unavailable", async () => {
    const step = await outcome(xoauth2, fakeBackend({ unavailable: true }), [
      frame("a@example.test", "Bearer x"),
    ]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "a@example.test" });
  });

  const malformed: [string, Buffer][] = [
    ["an empty message", Buffer.alloc(0)],
    ["no final \\x01", text(`user=a@example.test\x01auth=Bearer ${TOKEN}\x01`)],
    ["no user", text(`auth=Bearer ${TOKEN}\x01\x01`)],
    ["no auth", text("user=a@example.test\x01\x01")],
    ["an extra pair", text(`user=a\x01auth=Bearer ${TOKEN}\x01host=x\x01\x01`)],
    ["a repeated key", text(`user=a\x01user=b\x01\x01`)],
    ["an empty user", frame("", `Bearer ${TOKEN}`)],
    ["CR LF in the user", frame("a\r\nb", `Bearer ${TOKEN}`)],
    ["another scheme", frame("a", "Basic YTpi")],
    ["a token with a space", frame("a", "Bearer ab cd")],
    ["a token with a quote", frame("a", 'Bearer ab"cd')],
    ["a missing token", frame("a", "Bearer ")],
    [
      "invalid UTF-8",
      Buffer.concat([text("user="), Buffer.of(0xff), text(`\x01auth=Bearer ${TOKEN}\x01\x01`)]),
    ],
  ];
  for (const [name, input] of malformed) {
    test(`${name} is malformed`, async () => {
      const step = await outcome(xoauth2, backend(), [input]);
      assert.equal(step.kind === "failure" && step.reason, "malformed");
    });
  }

  test("tokens are accepted up to the bound, and refused as malformed past it", async () => {
    const b = backend();
    const atBound = await outcome(xoauth2, b, [frame("a", `Bearer ${"t".repeat(MAX_TOKEN_OCTETS)}`)]);
    assert.equal(atBound.kind === "failure" && atBound.reason, "invalid");
    const pastBound = await outcome(xoauth2, b, [frame("a", `Bearer ${"t".repeat(MAX_TOKEN_OCTETS + 1)}`)]);
    assert.equal(pastBound.kind === "failure" && pastBound.reason, "malformed");
    assert.equal(b.bearerClaims.length, 1);
  });

  test("a finished exchange fails every further step", async () => {
    const good = frame("a@example.test", `Bearer ${TOKEN}`);
    const steps = await run(xoauth2, backend(), [good, good]);
    assert.deepEqual(steps[1], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    await assertNeverAuthenticates(xoauth2, backend);
  });

  test("property: a mutated frame authenticates only with the real token", async () => {
    await fc.assert(
      fc.asyncProperty(mutated(frame("alice@example.test", `Bearer ${TOKEN}`)), async (input) => {
        const b = backend();
        assertVouched(firstTerminal(await run(xoauth2, b, [input, input])), b);
      }),
    );
  });
});
