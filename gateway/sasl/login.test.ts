import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { login } from "./login.ts";
import {
  assertNeverAuthenticates,
  assertVouched,
  bytes,
  firstTerminal,
  mutated,
  outcome,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { fakeBackend } from "./testing/fake-backend.ts";

const backend = () => fakeBackend({ users: { alice: { password: "correct horse", canonical: "Alice" } } });

describe("LOGIN", () => {
  test("is a plaintext mechanism", () => {
    assert.equal(login.plaintext, true);
  });

  test("asks Username: then Password: and authenticates as the backend's identity", async () => {
    const steps = await run(login, backend(), [undefined, text("alice"), text("correct horse")]);
    assert.deepEqual(steps, [
      { kind: "challenge", data: text("Username:") },
      { kind: "challenge", data: text("Password:") },
      { kind: "success", username: "Alice" },
    ]);
  });

  test("an initial response is the user name", async () => {
    const steps = await run(login, backend(), [text("alice"), text("correct horse")]);
    assert.deepEqual(steps[0], { kind: "challenge", data: text("Password:") });
    assert.deepEqual(steps[1], { kind: "success", username: "Alice" });
  });

  test("a wrong password and an unknown user fail alike, naming the user", async () => {
    assert.deepEqual(await outcome(login, backend(), [text("alice"), text("wrong")]), {
      kind: "failure",
      reason: "invalid",
      username: "alice",
    });
    assert.deepEqual(await outcome(login, backend(), [text("mallory"), text("correct horse")]), {
      kind: "failure",
      reason: "invalid",
      username: "mallory",
    });
  });

  test("an unavailable store fails unavailable", async () => {
    const step = await outcome(login, fakeBackend({ unavailable: true }), [text("alice"), text("x")]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "alice" });
  });

  const badNames: [string, Buffer][] = [
    ["empty", Buffer.alloc(0)],
    ["with CR LF", text("alice\r\nMAIL FROM:<x>")],
    ["with NUL", text("ali\0ce")],
    ["invalid UTF-8", Buffer.from([0x61, 0xc0, 0xaf])],
  ];
  for (const [name, input] of badNames) {
    test(`a user name that is ${name} is malformed, as initial or later response`, async () => {
      assert.deepEqual(await outcome(login, backend(), [input]), { kind: "failure", reason: "malformed" });
      assert.deepEqual(await outcome(login, backend(), [undefined, input]), {
        kind: "failure",
        reason: "malformed",
      });
    });
  }

  test("an empty, NUL-bearing or non-UTF-8 password is malformed and names the user", async () => {
    for (const password of [Buffer.alloc(0), text("a\0b"), Buffer.from([0xff])]) {
      const step = await outcome(login, backend(), [text("alice"), password]);
      assert.deepEqual(step, { kind: "failure", reason: "malformed", username: "alice" });
    }
  });

  test("an absent response after a challenge is malformed", async () => {
    assert.deepEqual((await run(login, backend(), [undefined, undefined]))[1], {
      kind: "failure",
      reason: "malformed",
    });
    assert.deepEqual((await run(login, backend(), [text("alice"), undefined]))[1], {
      kind: "failure",
      reason: "malformed",
      username: "alice",
    });
  });

  test("a finished exchange fails every further step", async () => {
    const steps = await run(login, backend(), [text("alice"), text("correct horse"), text("correct horse")]);
    assert.deepEqual(steps[2], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    await assertNeverAuthenticates(login, backend);
  });

  test("property: mutated user names and passwords authenticate only when unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        mutated(text("alice")),
        mutated(text("correct horse")),
        fc.option(bytes, { nil: undefined }),
        async (name, password, extra) => {
          const b = backend();
          const step = firstTerminal(await run(login, b, [name, password, ...(extra ? [extra] : [])]));
          assertVouched(step, b);
          if (step?.kind === "success")
            assert.ok(name.equals(text("alice")) && password.equals(text("correct horse")));
        },
      ),
    );
  });
});
