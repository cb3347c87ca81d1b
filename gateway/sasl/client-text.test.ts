import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  checkIdentity,
  decodeIdentity,
  decodePassword,
  decodeUtf8,
  MAX_IDENTITY_OCTETS,
} from "./client-text.ts";

describe("client text decoding", () => {
  test("UTF-8 decoding is strict: overlong forms, surrogates and truncation are refused", () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xf4, 0x90, 0x80, 0x80]]) {
      assert.equal(decodeUtf8(Uint8Array.from(bad)), undefined, String(bad));
    }
    assert.equal(decodeUtf8(Buffer.from("Zoë ☃ 𝄞")), "Zoë ☃ 𝄞");
  });

  test("a byte order mark is kept, not silently stripped", () => {
    assert.equal(decodeUtf8(Buffer.from("\uFEFFalice")), "\uFEFFalice");
  });

  test("identities refuse line breaks, controls and invisible formatting characters", () => {
    for (const bad of [
      "",
      "a\rb",
      "a\nb",
      "a\0b",
      "a\x7fb",
      "a\u0085b",
      "a\u2028b",
      "a\u2029b",
      "a\u202Eb",
      "a\u200Bb",
    ]) {
      assert.equal(checkIdentity(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(checkIdentity("Zoë Smith@exämple.test"), "Zoë Smith@exämple.test");
  });

  test("identities are bounded in octets, not characters", () => {
    assert.equal(
      decodeIdentity(Buffer.from("é".repeat(MAX_IDENTITY_OCTETS / 2))),
      "é".repeat(MAX_IDENTITY_OCTETS / 2),
    );
    assert.equal(decodeIdentity(Buffer.from(`${"é".repeat(MAX_IDENTITY_OCTETS / 2)}a`)), undefined);
  });

  test("passwords are non-empty UTF-8 without NUL, other characters allowed", () => {
    assert.equal(decodePassword(Buffer.alloc(0)), undefined);
    assert.equal(decodePassword(Buffer.from("a\0b")), undefined);
    assert.equal(decodePassword(Buffer.from("tab\there ☃")), "tab\there ☃");
  });

  test("property: decoding never throws and accepts exactly what Node's strict decoder accepts", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const strict = Buffer.from(bytes).toString("utf8");
        const valid = Buffer.from(strict).equals(Buffer.from(bytes));
        assert.equal(decodeUtf8(bytes), valid ? strict : undefined);
      }),
    );
  });
});
