import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { composeMessage, rfc5322Date } from "./message.ts";

const spec = (size: number, date = new Date("2025-11-28T08:06:00Z")) => ({
  from: "alice@example.com",
  to: "bob@example.net",
  messageId: "1.abc@loadgen.example",
  date,
  size,
});

test("a 4 KB message is exactly 4096 octets", () => {
  assert.equal(composeMessage(spec(4096)).length, 4096);
});

test("the header From is the given sender, in a header block ended by an empty line", () => {
  const text = composeMessage(spec(4096)).toString("latin1");
  const [head] = text.split("\r\n\r\n");
  assert.match(head ?? "", /^From: Benchmark Sender <alice@example\.com>$/m);
  assert.match(head ?? "", /^To: <bob@example\.net>$/m);
  assert.match(head ?? "", /^Message-ID: <1\.abc@loadgen\.example>$/m);
  assert.match(head ?? "", /^Date: Fri, 28 Nov 2025 08:06:00 \+0000$/m);
});

test("the date is RFC 5322 with a numeric zone and reads back as the same instant", () => {
  const date = new Date("2024-02-29T23:59:59Z");
  assert.equal(rfc5322Date(date), "Thu, 29 Feb 2024 23:59:59 +0000");
  assert.equal(Date.parse(rfc5322Date(date)), date.getTime());
});

test("every size the headers fit in comes out exact, CRLF-only, within 78 columns, no leading dot", () => {
  const minimum = composeMessage(spec(4096)).toString("latin1").indexOf("\r\n\r\n") + 4 + 2;
  fc.assert(
    fc.property(
      fc.integer({ min: minimum, max: 20_000 }),
      fc.date({ min: new Date("1970-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }),
      (size, date) => {
        const message = composeMessage(spec(size, date));
        assert.equal(message.length, size);
        const text = message.toString("latin1");
        assert.ok(text.endsWith("\r\n"));
        const lines = text.slice(0, -2).split("\r\n");
        for (const line of lines) {
          assert.ok(!/[\r\n]/.test(line), "bare CR or LF");
          assert.ok(line.length <= 78, `line of ${line.length}`);
          assert.ok(!line.startsWith("."), "line starting with a dot");
          assert.match(line, /^[\x20-\x7e]*$/);
        }
      },
    ),
  );
});

test("a size too small for the headers is refused", () => {
  assert.throws(() => composeMessage(spec(100)), RangeError);
});
