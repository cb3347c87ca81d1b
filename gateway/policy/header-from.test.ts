import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headerFrom } from "./header-from.ts";

/** A message from header lines and a body, CRLF-terminated as on the wire. */
function message(headers: string[], body = "Hello.\r\n"): Buffer {
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body}`, "latin1");
}

describe("headerFrom", () => {
  it("returns the address of a single plain From", () => {
    assert.deepEqual(headerFrom(message(["From: alice@example.test", "To: bob@example.test"])), {
      ok: true,
      addresses: ["alice@example.test"],
    });
  });

  it("returns the address, not the display name, even when the display name looks like an address", () => {
    assert.deepEqual(headerFrom(message(['From: "Alice Example" <alice@example.test>'])), {
      ok: true,
      addresses: ["alice@example.test"],
    });
    assert.deepEqual(headerFrom(message(['From: "ceo@bank.test" <alice@example.test>'])), {
      ok: true,
      addresses: ["alice@example.test"],
    });
  });

  it("returns every mailbox of a From with several, and of groups", () => {
    assert.deepEqual(headerFrom(message(["From: alice@example.test, Bob <bob@other.test>"])), {
      ok: true,
      addresses: ["alice@example.test", "bob@other.test"],
    });
    assert.deepEqual(headerFrom(message(["From: Team: alice@example.test, bob@other.test;"])), {
      ok: true,
      addresses: ["alice@example.test", "bob@other.test"],
    });
  });

  it("unfolds a folded From field", () => {
    assert.deepEqual(headerFrom(message(["From: Alice Example", " <alice@example.test>", "Subject: hi"])), {
      ok: true,
      addresses: ["alice@example.test"],
    });
    assert.deepEqual(headerFrom(message(["From: alice@example.test,", "\tbob@other.test"])), {
      ok: true,
      addresses: ["alice@example.test", "bob@other.test"],
    });
  });

  it("reports no addresses (ok) for a message without From", () => {
    assert.deepEqual(headerFrom(message(["Subject: hi", "To: bob@example.test"])), {
      ok: true,
      addresses: [],
    });
    assert.deepEqual(headerFrom(Buffer.alloc(0)), { ok: true, addresses: [] });
  });

  it("refuses two From fields, even when both are the same", () => {
    for (const second of ["From: mallory@evil.test", "From: alice@example.test", "from: x@y.test"]) {
      const result = headerFrom(message(["From: alice@example.test", "Subject: hi", second]));
      assert.equal(result.ok, false, second);
    }
  });

  it("refuses a From field without any address", () => {
    assert.equal(headerFrom(message(["From: "])).ok, false);
    assert.equal(headerFrom(message(["From: Undisclosed:;"])).ok, false);
  });

  it("ignores From lines in the body", () => {
    assert.deepEqual(headerFrom(message(["Subject: hi"], "From: ceo@bank.test\r\n")), {
      ok: true,
      addresses: [],
    });
    assert.deepEqual(headerFrom(message(["From: alice@example.test"], "From: ceo@bank.test\r\n")), {
      ok: true,
      addresses: ["alice@example.test"],
    });
  });

  it("matches the field name case-insensitively, with or without space before the colon", () => {
    for (const name of ["FROM:", "from:", "fRoM:", "From :", "From\t:"]) {
      assert.deepEqual(headerFrom(message([`${name} alice@example.test`])), {
        ok: true,
        addresses: ["alice@example.test"],
      });
    }
    assert.equal(headerFrom(message(["FROM: alice@example.test", "from: mallory@evil.test"])).ok, false);
  });

  it("does not take other fields that contain From for the From field", () => {
    const headers = ["X-Original-From: ceo@bank.test", "From-Hint: ceo@bank.test", "Reply-To: ceo@bank.test"];
    assert.deepEqual(headerFrom(message([...headers, "From: alice@example.test"])), {
      ok: true,
      addresses: ["alice@example.test"],
    });
  });

  it("reads a message that has only a header", () => {
    assert.deepEqual(headerFrom(Buffer.from("From: alice@example.test\r\n", "latin1")), {
      ok: true,
      addresses: ["alice@example.test"],
    });
  });

  // The relay turns bare LF into CRLF, so the upstream would see a From field hidden behind one.
  it("sees a From field in a header with bare LF line endings", () => {
    assert.deepEqual(headerFrom(Buffer.from("Subject: hi\nFrom: ceo@bank.test\n\nbody\n", "latin1")), {
      ok: true,
      addresses: ["ceo@bank.test"],
    });
    const mixed = Buffer.from(
      "From: alice@example.test\r\nSubject: hi\nFrom: ceo@bank.test\r\n\r\nbody",
      "latin1",
    );
    assert.equal(headerFrom(mixed).ok, false);
  });

  it("refuses a From field that names more addresses than the parser returns", () => {
    for (const value of ["<mallory@owned.test> <ceo@bank.test>", "<mallory@owned.test> ceo@bank.test"]) {
      assert.equal(headerFrom(Buffer.from(`From: ${value}\r\n\r\nx`)).ok, false, value);
    }
    const quoted = headerFrom(Buffer.from('From: "ceo@bank.test (really)" <mallory@owned.test>\r\n\r\nx'));
    assert.deepEqual(quoted, { ok: true, addresses: ["mallory@owned.test"] });
  });
});
