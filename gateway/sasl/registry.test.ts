import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MECHANISM_NAMES, type MechanismName } from "./mechanism.ts";
import { findMechanism, MECHANISMS, offeredMechanisms } from "./registry.ts";

const PLAINTEXT: MechanismName[] = ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"];

describe("mechanism registry", () => {
  test("holds every mechanism under its own name, with the right plaintext flag", () => {
    for (const name of MECHANISM_NAMES) {
      assert.equal(MECHANISMS[name].name, name);
      assert.equal(MECHANISMS[name].plaintext, PLAINTEXT.includes(name), name);
    }
  });

  test("findMechanism is case-insensitive and knows nothing else", () => {
    assert.equal(findMechanism("scram-sha-256"), MECHANISMS["SCRAM-SHA-256"]);
    assert.equal(findMechanism("Plain"), MECHANISMS.PLAIN);
    for (const name of ["GSSAPI", "", "constructor", "__proto__", "SCRAM-SHA-256-PLUS"]) {
      assert.equal(findMechanism(name), undefined, name);
    }
  });

  test("without TLS only CRAM-MD5 and SCRAM-SHA-256 are offered", () => {
    const offered = offeredMechanisms(MECHANISM_NAMES, { secure: false, hasClientCertificate: false });
    assert.deepEqual(offered, ["CRAM-MD5", "SCRAM-SHA-256"]);
  });

  test("with TLS the plaintext mechanisms join; EXTERNAL needs a verified client certificate", () => {
    assert.deepEqual(offeredMechanisms(MECHANISM_NAMES, { secure: true, hasClientCertificate: false }), [
      "PLAIN",
      "LOGIN",
      "CRAM-MD5",
      "SCRAM-SHA-256",
      "XOAUTH2",
      "OAUTHBEARER",
    ]);
    assert.deepEqual(offeredMechanisms(["EXTERNAL", "PLAIN"], { secure: true, hasClientCertificate: true }), [
      "EXTERNAL",
      "PLAIN",
    ]);
  });

  test("keeps the configured order and drops repeats", () => {
    const enabled: MechanismName[] = ["SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-256", "LOGIN"];
    assert.deepEqual(offeredMechanisms(enabled, { secure: true, hasClientCertificate: false }), [
      "SCRAM-SHA-256",
      "PLAIN",
      "LOGIN",
    ]);
  });

  test("property: offers a subsequence of what is enabled, never plaintext in the clear", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...MECHANISM_NAMES)),
        fc.boolean(),
        fc.boolean(),
        (enabled, secure, hasClientCertificate) => {
          const offered = offeredMechanisms(enabled, { secure, hasClientCertificate });
          assert.deepEqual(
            offered,
            [...new Set(enabled)].filter((name) => offered.includes(name)),
          );
          if (!secure) assert.ok(offered.every((name) => !MECHANISMS[name].plaintext));
          if (!hasClientCertificate) assert.ok(!offered.includes("EXTERNAL"));
          for (const name of ["CRAM-MD5", "SCRAM-SHA-256"] as const) {
            assert.equal(offered.includes(name), enabled.includes(name));
          }
        },
      ),
    );
  });
});
