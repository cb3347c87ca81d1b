import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { external } from "./external.ts";
import {
  assertVouched,
  firstTerminal,
  outcome,
  responseLists,
  run,
  text,
} from "./testing/exchange-harness.ts";
import { fakeBackend, fakeCertificate, fakeContext } from "./testing/fake-backend.ts";

const backend = () =>
  fakeBackend({
    certificates: { "AA:01": "alice@example.test" },
    mayActAs: { "alice@example.test": ["team"] },
  });
const withCertificate = fakeContext({ clientCertificate: fakeCertificate("AA:01") });

describe("EXTERNAL", () => {
  test("is not a plaintext mechanism", () => {
    assert.equal(external.plaintext, false);
  });

  test("an empty initial response authenticates as the certificate's identity", async () => {
    const step = await outcome(external, backend(), [Buffer.alloc(0)], withCertificate);
    assert.deepEqual(step, { kind: "success", username: "alice@example.test" });
  });

  test("without an initial response sends an empty challenge first", async () => {
    const steps = await run(external, backend(), [undefined, Buffer.alloc(0)], withCertificate);
    assert.deepEqual(steps, [
      { kind: "challenge", data: Buffer.alloc(0) },
      { kind: "success", username: "alice@example.test" },
    ]);
  });

  test("an authzid: the same identity succeeds, a permitted one is carried, others fail invalid", async () => {
    const self = await outcome(external, backend(), [text("alice@example.test")], withCertificate);
    assert.deepEqual(self, { kind: "success", username: "alice@example.test" });
    const permitted = await outcome(external, backend(), [text("team")], withCertificate);
    assert.deepEqual(permitted, { kind: "success", username: "alice@example.test", authzid: "team" });
    const refused = await outcome(external, backend(), [text("boss")], withCertificate);
    assert.deepEqual(refused, { kind: "failure", reason: "invalid", username: "alice@example.test" });
  });

  test("no certificate, or one that maps to no user, fails invalid", async () => {
    assert.deepEqual(await outcome(external, backend(), [Buffer.alloc(0)]), {
      kind: "failure",
      reason: "invalid",
    });
    const unmapped = fakeContext({ clientCertificate: fakeCertificate("BB:02") });
    assert.deepEqual(await outcome(external, backend(), [Buffer.alloc(0)], unmapped), {
      kind: "failure",
      reason: "invalid",
    });
  });

  test("an authzid with CR LF, NUL or invalid UTF-8 is malformed", async () => {
    for (const authzid of [text("team\r\nX"), text("te\0am"), Buffer.of(0x74, 0xe2, 0x82)]) {
      const step = await outcome(external, backend(), [authzid], withCertificate);
      assert.deepEqual(step, { kind: "failure", reason: "malformed" });
    }
  });

  test("a finished exchange fails every further step", async () => {
    const steps = await run(external, backend(), [Buffer.alloc(0), Buffer.alloc(0)], withCertificate);
    assert.deepEqual(steps[1], { kind: "failure", reason: "malformed" });
  });

  test("property: without a certificate nothing authenticates", async () => {
    await fc.assert(
      fc.asyncProperty(responseLists, async (responses) => {
        assert.notEqual(firstTerminal(await run(external, backend(), responses))?.kind, "success");
      }),
    );
  });

  test("property: with a certificate, success is only ever the vouched identity or a permitted authzid", async () => {
    const authzids = fc.oneof(
      fc.constantFrom("", "alice@example.test", "team", "boss").map(text),
      fc.string().map(text),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), authzids, async (initial, authzid) => {
        const b = backend();
        const responses = initial ? [authzid, authzid] : [undefined, authzid, authzid];
        assertVouched(firstTerminal(await run(external, b, responses, withCertificate)), b);
      }),
    );
  });
});
