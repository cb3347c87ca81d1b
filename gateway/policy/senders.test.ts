import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { maySendAs } from "./senders.ts";

describe("maySendAs", () => {
  it("allows an exact address and nothing else for an exact pattern", () => {
    const patterns = ["alice@example.test"];
    assert.equal(maySendAs(patterns, "alice@example.test"), true);
    assert.equal(maySendAs(patterns, "bob@example.test"), false);
    assert.equal(maySendAs(patterns, "alice@other.test"), false);
    assert.equal(maySendAs(patterns, "alice+tag@example.test"), false);
  });

  it("allows any local part at the domain of a *@domain pattern", () => {
    const patterns = ["*@example.test"];
    for (const address of ["alice@example.test", "bob.smith+news@example.test", "*@example.test"]) {
      assert.equal(maySendAs(patterns, address), true, address);
    }
  });

  it("compares case-insensitively on both sides", () => {
    assert.equal(maySendAs(["Alice@Example.TEST"], "aLiCe@example.test"), true);
    assert.equal(maySendAs(["*@EXAMPLE.test"], "Bob@Example.Test"), true);
  });

  it("allows when any one of several patterns matches, and nothing with no patterns", () => {
    assert.equal(maySendAs(["alice@example.test", "*@other.test"], "bob@other.test"), true);
    assert.equal(maySendAs([], "alice@example.test"), false);
  });

  it("never matches look-alike domains", () => {
    const patterns = ["*@example.test"];
    for (const address of [
      "x@example.test.evil.com",
      "x@evil-example.test",
      "x@sub.example.test",
      "x@example.testx",
      "x@xexample.test",
      "x@example.test.",
      "x@example,test",
    ]) {
      assert.equal(maySendAs(patterns, address), false, address);
    }
    assert.equal(maySendAs(["alice@example.test"], "alice@example.test.evil.com"), false);
  });

  it("never matches an address without a local part or a domain", () => {
    for (const address of ["@example.test", "example.test", "alice@", ""]) {
      assert.equal(maySendAs(["*@example.test", "alice@"], address), false, address);
    }
  });

  it("never matches an address with a nested @", () => {
    assert.equal(maySendAs(["*@example.test"], "x@evil.com@example.test"), false);
    assert.equal(maySendAs(["*@example.test"], "@evil.com@example.test"), false);
  });

  it("never lets a nested @ match an exact pattern", () => {
    assert.equal(maySendAs(["alice@example.test"], "alice@example.test@evil.com"), false);
    assert.equal(maySendAs(["alice@example.test"], "x@alice@example.test"), false);
  });

  it("property: *@domain allows exactly the addresses whose domain equals it, ignoring case", () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    const domain = fc.array(label, { minLength: 2, maxLength: 3 }).map((l) => l.join("."));
    const local = fc.stringMatching(/^[a-z0-9._+-]{1,12}$/);
    fc.assert(
      fc.property(domain, domain, local, fc.boolean(), (mine, theirs, user, shout) => {
        const address = `${user}@${shout ? theirs.toUpperCase() : theirs}`;
        assert.equal(maySendAs([`*@${mine}`], address), mine === theirs);
      }),
    );
  });
});
