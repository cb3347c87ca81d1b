import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeBase64 } from "./auth-command.ts";

describe("decodeBase64", () => {
  it("decodes canonical base64 with and without padding", () => {
    assert.deepEqual(decodeBase64(""), Buffer.alloc(0));
    assert.deepEqual(decodeBase64("Zg=="), Buffer.from("f"));
    assert.deepEqual(decodeBase64("Zm8="), Buffer.from("fo"));
    assert.deepEqual(decodeBase64("Zm9v"), Buffer.from("foo"));
    assert.deepEqual(decodeBase64("AGFsaWNlAHMzY3JldA=="), Buffer.from("\0alice\0s3cret"));
    assert.deepEqual(decodeBase64("+/+/"), Buffer.from([0xfb, 0xff, 0xbf]));
  });

  it("refuses garbage that Buffer.from silently skips", () => {
    for (const text of ["Zm9v!!!!", "Zm 9v", "Zm9v\n", "Zm9v*", "Zm9v.", "Zm9v\0"]) {
      assert.ok(Buffer.from(text, "base64").length > 0, `Buffer.from decodes ${JSON.stringify(text)}`);
      assert.equal(decodeBase64(text), undefined, JSON.stringify(text));
    }
  });

  it("refuses missing, misplaced or excess padding", () => {
    for (const text of [
      "Zg",
      "Zm8",
      "Zm9vYg",
      "Z===",
      "Zg=",
      "Zg===",
      "Zm9=v",
      "=Zm9",
      "====",
      "Zg==Zm9v",
      "Zm9v====",
    ]) {
      assert.equal(decodeBase64(text), undefined, text);
    }
  });

  it("refuses the URL-safe alphabet", () => {
    assert.equal(decodeBase64("-_-_"), undefined);
    assert.equal(decodeBase64("Zm9-"), undefined);
  });

  it("property: decodes whatever Buffer's base64 encoder produced, to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        assert.deepEqual(decodeBase64(buffer.toString("base64")), buffer);
      }),
    );
  });

  it("property: refuses any text with a character outside the base64 alphabet", () => {
    const outsider = fc
      .string({ unit: "binary", minLength: 1, maxLength: 1 })
      .filter((c) => !/[A-Za-z0-9+/=]/.test(c));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), fc.nat(), outsider, (bytes, at, c) => {
        const text = Buffer.from(bytes).toString("base64");
        const i = at % (text.length + 1);
        assert.equal(decodeBase64(text.slice(0, i) + c + text.slice(i)), undefined);
      }),
    );
  });
});
