import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_IDENTITY_OCTETS } from "./client-text.ts";
import { plain } from "./plain.ts";
import {
  assertNeverAuthenticates,
  assertVouched,
  firstTerminal,
  isOneOf,
  mutated,
  outcome,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { fakeBackend } from "./testing/fake-backend.ts";

const backend = () =>
  fakeBackend({
    users: { alice: { password: "correct horse", canonical: "alice@example.test" } },
    mayActAs: { "alice@example.test": ["shared@example.test"] },
  });

describe("PLAIN", () => {
  test("is a plaintext mechanism", () => {
    assert.equal(plain.plaintext, true);
    assert.equal(plain.name, "PLAIN");
  });

  test("authenticates with an initial response and returns the backend's identity", async () => {
    const step = await outcome(plain, backend(), [text("\0alice\0correct horse")]);
    assert.deepEqual(step, { kind: "success", username: "alice@example.test" });
  });

  test("without an initial response sends an empty challenge, then takes the next response", async () => {
    const steps = await run(plain, backend(), [undefined, text("\0alice\0correct horse")]);
    assert.deepEqual(steps[0], { kind: "challenge", data: Buffer.alloc(0) });
    assert.equal(steps[1]?.kind, "success");
  });

  test("a wrong password fails invalid and names the user", async () => {
    const step = await outcome(plain, backend(), [text("\0alice\0battery staple")]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "alice" });
  });

  test("an unknown user fails exactly like a wrong password", async () => {
    const step = await outcome(plain, backend(), [text("\0mallory\0correct horse")]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "mallory" });
  });

  test("an unavailable store fails unavailable", async () => {
    const step = await outcome(plain, fakeBackend({ unavailable: true }), [text("\0alice\0correct horse")]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "alice" });
  });

  test("an authzid equal to the authcid is the user itself", async () => {
    const step = await outcome(plain, backend(), [text("alice\0alice\0correct horse")]);
    assert.deepEqual(step, { kind: "success", username: "alice@example.test" });
  });

  test("a different authzid needs the backend's permission", async () => {
    const allowed = await outcome(plain, backend(), [text("shared@example.test\0alice\0correct horse")]);
    assert.deepEqual(allowed, {
      kind: "success",
      username: "alice@example.test",
      authzid: "shared@example.test",
    });
    const refused = await outcome(plain, backend(), [text("boss@example.test\0alice\0correct horse")]);
    assert.deepEqual(refused, { kind: "failure", reason: "invalid", username: "alice" });
  });

  test("an authzid is not honoured when the password is wrong", async () => {
    const step = await outcome(plain, backend(), [text("shared@example.test\0alice\0wrong")]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "alice" });
  });

  test("accepts names longer than 255 octets up to the bound", async () => {
    const name = "a".repeat(MAX_IDENTITY_OCTETS);
    const b = fakeBackend({ users: { [name]: { password: "pw" } } });
    assert.equal((await outcome(plain, b, [text(`\0${name}\0pw`)])).kind, "success");
    const tooLong = await outcome(plain, b, [text(`\0${name}a\0pw`)]);
    assert.deepEqual(tooLong, { kind: "failure", reason: "malformed" });
  });

  const malformed: [string, Buffer][] = [
    ["an empty message", Buffer.alloc(0)],
    ["a single NUL", text("alice\0correct horse")],
    ["three NULs", text("\0alice\0correct\0horse")],
    ["an empty authcid", text("\0\0correct horse")],
    ["an empty password", text("\0alice\0")],
    ["invalid UTF-8 in the authcid", Buffer.from([0, 0x61, 0xff, 0, 0x70])],
    ["invalid UTF-8 in the password", Buffer.from([0, 0x61, 0, 0xc3, 0x28])],
    ["CR LF in the authcid", text("\0alice\r\nRCPT TO:<x>\0correct horse")],
    ["LF in the authzid", text("bob\nX\0alice\0correct horse")],
    ["a bidi override in the authcid", text("\0ali\u202Ece\0correct horse")],
  ];
  for (const [name, input] of malformed) {
    test(`${name} is malformed`, async () => {
      const step = await outcome(plain, backend(), [input]);
      assert.equal(step.kind, "failure");
      assert.equal(step.kind === "failure" && step.reason, "malformed");
    });
  }

  test("a malformed password still reports the named user", async () => {
    const step = await outcome(plain, backend(), [text("\0alice\0")]);
    assert.deepEqual(step, { kind: "failure", reason: "malformed", username: "alice" });
  });

  test("a second absent response after the empty challenge is malformed", async () => {
    const steps = await run(plain, backend(), [undefined, undefined]);
    assert.deepEqual(steps[1], { kind: "failure", reason: "malformed" });
  });

  test("a finished exchange fails every further step", async () => {
    const good = text("\0alice\0correct horse");
    const afterSuccess = await run(plain, backend(), [good, good]);
    assert.deepEqual(afterSuccess[1], { kind: "failure", reason: "malformed" });
    const afterFailure = await run(plain, backend(), [text("\0alice\0wrong"), good]);
    assert.deepEqual(afterFailure[1], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    await assertNeverAuthenticates(plain, backend);
  });

  test("property: a mutated frame authenticates only if it is still a valid frame", async () => {
    const valid = [
      "\0alice\0correct horse",
      "alice\0alice\0correct horse",
      "shared@example.test\0alice\0correct horse",
    ].map(text);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...valid).chain(mutated), fc.boolean(), async (frame, initial) => {
        const b = backend();
        const step = firstTerminal(await run(plain, b, initial ? [frame, frame] : [undefined, frame, frame]));
        assertVouched(step, b);
        if (step?.kind === "success") assert.ok(isOneOf(frame, valid));
      }),
    );
  });
});
