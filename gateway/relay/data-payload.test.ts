import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { normalizeLineEndings } from "./data-payload.ts";

const normalized = (text: string) => normalizeLineEndings(Buffer.from(text, "latin1")).toString("latin1");

/** Line breaks as the relay counts them: CRLF, then any bare CR or bare LF. */
const lineBreaks = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;

describe("normalizeLineEndings", () => {
  it("turns every bare LF into CRLF", () => {
    assert.equal(
      normalized("Subject: hi\nFrom: a@b.test\n\nbody\n"),
      "Subject: hi\r\nFrom: a@b.test\r\n\r\nbody\r\n",
    );
  });

  it("turns every bare CR into CRLF", () => {
    assert.equal(normalized("a\rb\r"), "a\r\nb\r\n");
  });

  it("leaves CRLF untouched and reads LF CR as two line breaks", () => {
    assert.equal(normalized("a\r\nb\r\n"), "a\r\nb\r\n");
    assert.equal(normalized("a\n\rb"), "a\r\n\r\nb");
    assert.equal(normalized("a\r\r\nb"), "a\r\n\r\nb");
  });

  it("keeps every other byte, including 8-bit ones", () => {
    const bytes = Buffer.from([0x00, 0x41, 0x0a, 0x80, 0xff, 0x0d, 0xe9]);
    assert.deepEqual(
      normalizeLineEndings(bytes),
      Buffer.from([0x00, 0x41, 0x0d, 0x0a, 0x80, 0xff, 0x0d, 0x0a, 0xe9]),
    );
  });

  it("returns a buffer without line breaks as it is", () => {
    const bytes = Buffer.from("no line breaks at all");
    assert.equal(normalizeLineEndings(bytes), bytes);
  });

  it("property: no bare CR or LF remains, the line breaks are as many, and other bytes are kept", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .string({ unit: fc.constantFrom("a", "\r", "\n", "\r\n", "\xe9") })
        .map((s) => Buffer.from(s, "latin1")),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        const before = Buffer.from(input).toString("latin1");
        const after = normalizeLineEndings(Buffer.from(input)).toString("latin1");
        assert.doesNotMatch(after.replace(/\r\n/g, ""), /[\r\n]/);
        assert.equal(lineBreaks(after), lineBreaks(before));
        assert.equal(after.replace(/[\r\n]/g, ""), before.replace(/[\r\n]/g, ""));
        assert.equal(normalized(after), after, "normalizing twice changes nothing");
      }),
    );
  });
});
