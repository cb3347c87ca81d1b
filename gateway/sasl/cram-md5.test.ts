import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { cramMd5, createCramMd5 } from "./cram-md5.ts";
import type { SaslStep } from "./mechanism.ts";
import {
  assertNeverAuthenticates,
  bytes,
  firstTerminal,
  mutated,
  outcome,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { fakeBackend } from "./testing/fake-backend.ts";

// RFC 2195 §2's worked example.
const RFC_CHALLENGE = "<1896.697170952@postoffice.reston.mci.net>";
const rfcMechanism = createCramMd5({ challenge: () => RFC_CHALLENGE });
const backend = () =>
  fakeBackend({
    users: { tim: { password: "tanstaaftanstaaf", cramMd5: true }, nocram: { password: "tanstaaftanstaaf" } },
  });

function challengeData(step: SaslStep | undefined): Buffer {
  assert.equal(step?.kind, "challenge");
  return step.kind === "challenge" ? step.data : Buffer.alloc(0);
}

describe("CRAM-MD5", () => {
  test("is not a plaintext mechanism", () => {
    assert.equal(cramMd5.plaintext, false);
  });

  test("RFC 2195 example: tim's digest of the example challenge authenticates", async () => {
    const steps = await run(rfcMechanism, backend(), [
      undefined,
      text("tim b913a602c7eda7a495b4e6e7334d3890"),
    ]);
    assert.deepEqual(steps, [
      { kind: "challenge", data: text(RFC_CHALLENGE) },
      { kind: "success", username: "tim" },
    ]);
  });

  test("the challenge is <random.timestamp@serverName> and differs every time", async () => {
    const first = challengeData((await run(cramMd5, backend(), [undefined]))[0]).toString();
    const second = challengeData((await run(cramMd5, backend(), [undefined]))[0]).toString();
    assert.match(first, /^<[0-9a-f]{32}\.\d+@mx\.example\.test>$/);
    assert.notEqual(first, second);
  });

  test("a digest over the issued challenge authenticates", async () => {
    const exchange = cramMd5.start({ secure: false, serverName: "mx.example.test" }, backend());
    const challenge = challengeData(await exchange.step(undefined));
    const digest = createHmac("md5", "tanstaaftanstaaf").update(challenge).digest("hex");
    assert.deepEqual(await exchange.step(text(`tim ${digest}`)), { kind: "success", username: "tim" });
  });

  test("a wrong digest fails invalid and names the user", async () => {
    const step = await outcome(rfcMechanism, backend(), [
      undefined,
      text("tim b913a602c7eda7a495b4e6e7334d3891"),
    ]);
    assert.deepEqual(step, { kind: "failure", reason: "invalid", username: "tim" });
  });

  test("unknown users and users without a CRAM-MD5 secret fail invalid, even with the right digest", async () => {
    for (const user of ["nobody", "nocram"]) {
      const step = await outcome(rfcMechanism, backend(), [
        undefined,
        text(`${user} b913a602c7eda7a495b4e6e7334d3890`),
      ]);
      assert.deepEqual(step, { kind: "failure", reason: "invalid", username: user });
    }
  });

  test("an unavailable store fails unavailable", async () => {
    const b = fakeBackend({ unavailable: true });
    const step = await outcome(rfcMechanism, b, [undefined, text("tim b913a602c7eda7a495b4e6e7334d3890")]);
    assert.deepEqual(step, { kind: "failure", reason: "unavailable", username: "tim" });
  });

  test("an initial response is malformed: the mechanism is server-first", async () => {
    for (const initial of [Buffer.alloc(0), text("tim b913a602c7eda7a495b4e6e7334d3890")]) {
      assert.deepEqual(await outcome(rfcMechanism, backend(), [initial]), {
        kind: "failure",
        reason: "malformed",
      });
    }
  });

  test("user names may contain spaces: the split is at the last space", async () => {
    const b = fakeBackend({ users: { "tim smith": { password: "tanstaaftanstaaf", cramMd5: true } } });
    const step = await outcome(rfcMechanism, b, [
      undefined,
      text("tim smith b913a602c7eda7a495b4e6e7334d3890"),
    ]);
    assert.deepEqual(step, { kind: "success", username: "tim smith" });
  });

  const malformed: [string, string][] = [
    ["no space", "timb913a602c7eda7a495b4e6e7334d3890"],
    ["an empty user", " b913a602c7eda7a495b4e6e7334d3890"],
    ["an uppercase digest", "tim B913A602C7EDA7A495B4E6E7334D3890"],
    ["a short digest", "tim b913a602c7eda7a495b4e6e7334d389"],
    ["a long digest", "tim b913a602c7eda7a495b4e6e7334d38900"],
    ["a non-hex digest", "tim g913a602c7eda7a495b4e6e7334d3890"],
    ["CR LF in the user", "t\r\nim b913a602c7eda7a495b4e6e7334d3890"],
    ["an empty response", ""],
  ];
  for (const [name, response] of malformed) {
    test(`a response with ${name} is malformed`, async () => {
      const step = await outcome(rfcMechanism, backend(), [undefined, text(response)]);
      assert.deepEqual(step, { kind: "failure", reason: "malformed" });
    });
  }

  test("a finished exchange fails every further step", async () => {
    const good = text("tim b913a602c7eda7a495b4e6e7334d3890");
    const steps = await run(rfcMechanism, backend(), [undefined, good, good]);
    assert.equal(steps[1]?.kind, "success");
    assert.deepEqual(steps[2], { kind: "failure", reason: "malformed" });
  });

  test("property: arbitrary bytes never throw and never authenticate", async () => {
    const afterChallenge = fc.array(bytes, { maxLength: 3 }).map((rest) => [undefined, ...rest]);
    await assertNeverAuthenticates(rfcMechanism, backend, afterChallenge);
  });

  test("property: a mutated response authenticates only when unchanged", async () => {
    const good = text("tim b913a602c7eda7a495b4e6e7334d3890");
    await fc.assert(
      fc.asyncProperty(mutated(good), async (response) => {
        const step = firstTerminal(await run(rfcMechanism, backend(), [undefined, response, response]));
        if (step?.kind === "success") assert.ok(response.equals(good));
      }),
    );
  });
});
