import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DataEncoder, encodeMessage } from "./data-payload.ts";

/** The encoding done on the whole message at once, as RFC 5321 §4.5.2 describes it. */
function reference(message: string): string {
  const normalized = message.replace(/\r\n|\r|\n/g, "\r\n");
  const stuffed = normalized.replace(/(^|\r\n)\./g, "$1..");
  const open = stuffed.length > 0 && !stuffed.endsWith("\r\n");
  return `${stuffed}${open ? "\r\n" : ""}.\r\n`;
}

/** Encodes `chunks` one by one, as a DATA stream arrives. */
function encodeChunks(chunks: readonly Buffer[]): string {
  const encoder = new DataEncoder();
  const out = chunks.map((c) => encoder.encode(c));
  return Buffer.concat([...out, encoder.end()]).toString("latin1");
}

/** `text` cut at the given offsets. */
function split(text: string, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of points) {
    chunks.push(Buffer.from(text.slice(from, to), "latin1"));
    from = to;
  }
  chunks.push(Buffer.from(text.slice(from), "latin1"));
  return chunks;
}

const messages = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a).toString("latin1")),
  fc.string({ unit: fc.constantFrom("a", ".", "\r", "\n", "\r\n", "\x00", "\xe9") }),
);

describe("DataEncoder", () => {
  it("dot-stuffs lines starting with '.', makes every line ending CRLF and ends with CRLF.CRLF", () => {
    assert.equal(
      encodeChunks([Buffer.from(".leading\n..two\r\n.\rmid.dot\nlast", "latin1")]),
      "..leading\r\n...two\r\n..\r\nmid.dot\r\nlast\r\n.\r\n",
    );
    assert.equal(encodeChunks([]), ".\r\n");
  });

  it("sees a CRLF, a smuggled end-of-data and a line-start dot split across chunks", () => {
    assert.equal(encodeChunks(split("a\r\nb", [1, 2])), "a\r\nb\r\n.\r\n");
    assert.equal(encodeChunks(split("a\n.\nb", [1, 2, 3])), "a\r\n..\r\nb\r\n.\r\n");
    assert.equal(encodeChunks(split("a\r", [2])), "a\r\n.\r\n");
    assert.equal(encodeChunks(split("a\r\r\n.", [2, 3, 4])), "a\r\n\r\n..\r\n.\r\n");
  });

  it("passes a well-formed chunk through without copying it", () => {
    const chunk = Buffer.from("Subject: x\r\n\r\nbody line\r\n");
    assert.equal(new DataEncoder().encode(chunk), chunk);
  });

  it("property: any split of any message encodes exactly as the whole message does", () => {
    fc.assert(
      fc.property(messages, fc.array(fc.nat(), { maxLength: 8 }), (message, cuts) => {
        const wire = encodeChunks(split(message, cuts));
        assert.equal(wire, reference(message));
        assert.doesNotMatch(wire.replace(/\r\n/g, ""), /[\r\n]/, "bare CR or LF on the wire");
        assert.equal(wire.slice(0, -3).indexOf("\r\n.\r\n"), -1, "end-of-data before the end");
      }),
    );
  });
});

describe("encodeMessage", () => {
  it("ends the message only when the source ended normally", async () => {
    async function* failing() {
      yield Buffer.from("first half\r\n");
      throw new Error("client went away");
    }
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of encodeMessage(failing())) seen.push(chunk.toString("latin1"));
    }, /client went away/);
    assert.deepEqual(seen, ["first half\r\n"]);
  });
});
