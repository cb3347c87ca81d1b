import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isValidMailbox } from "./address.ts";

// nmap's smtp-open-relay script with its defaults: to = "relaytest", domain = "nmap.scanme.org",
// srvname = the server's greeting name, ip = the target's address.
const to = "relaytest";
const domain = "nmap.scanme.org";
const srvname = "mail.example.test";
const ip = "192.0.2.25";

/** The RCPT TO addresses of nmap's 16 tests, after the first four, which relay to a plain address. */
const nmapRelayTricks = [
  `${to}%${domain}@[${ip}]`,
  `${to}%${domain}@${srvname}`,
  `"${to}@${domain}"`,
  `"${to}%${domain}"`,
  `${to}@${domain}@[${ip}]`,
  `"${to}@${domain}"@[${ip}]`,
  `${to}@${domain}@${srvname}`,
  `@[${ip}]:${to}@${domain}`,
  `@${srvname}:${to}@${domain}`,
  `${domain}!${to}`,
  `${domain}!${to}@[${ip}]`,
  `${domain}!${to}@${srvname}`,
];

const atom = fc.stringMatching(/^[a-z0-9+_-]{1,10}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const wellFormed = fc
  .tuple(fc.array(atom, { minLength: 1, maxLength: 4 }), fc.array(label, { minLength: 2, maxLength: 4 }))
  .map(([local, domain]) => `${local.join(".")}@${domain.join(".")}`);

describe("isValidMailbox", () => {
  it("refuses every address trick of nmap's smtp-open-relay tests", () => {
    assert.equal(nmapRelayTricks.length, 12);
    for (const address of nmapRelayTricks) assert.equal(isValidMailbox(address), false, address);
  });

  // Tests 1-4 of the 16 send MAIL FROM:<>, antispam@<domain>, antispam@<srvname> and
  // antispam@[<ip>], each with RCPT TO:<relaytest@nmap.scanme.org>: ordinary addresses, which the
  // gateway refuses by requiring AUTH before any RCPT (transaction.ts), not by their syntax.
  it("accepts the ordinary addresses of nmap's first four tests, except the null sender", () => {
    for (const address of [
      `${to}@${domain}`,
      `antispam@${domain}`,
      `antispam@${srvname}`,
      `antispam@[${ip}]`,
    ]) {
      assert.equal(isValidMailbox(address), true, address);
    }
    assert.equal(isValidMailbox(""), false);
  });

  it("refuses other relay and injection forms", () => {
    for (const address of [
      "user%other.test",
      "user!other.test",
      "other.test!user",
      "@a.test,@b.test:user@c.test",
      "user@other.test@example.test",
      '"user"@example.test',
      '"user name"@example.test',
      "user name@example.test",
      "user\\@x@example.test",
      "<user@example.test>",
      "user@example.test>",
      "user@example.test\r\nRCPT TO:<x@evil.test>",
      "user@example.test\0",
      "us\ter@example.test",
      "üser@example.test",
      "user@exämple.test",
      "user@[IPv6:2001:db8::1]",
      "user@[example.test]",
      "user@example.test:25",
      "user@example.test;x",
    ]) {
      assert.equal(isValidMailbox(address), false, JSON.stringify(address));
    }
  });

  it("accepts ordinary addresses, plus-addressing and RFC 5322 atext", () => {
    for (const address of [
      "alice@example.test",
      "Alice.Smith@Mail.Example.TEST",
      "alice+newsletter@example.test",
      "a@b.co",
      "first.last-name_x@sub-domain.example.test",
      "o'brien@example.test",
      "#$&'*+/=?^_`{|}~-@example.test",
      "user@xn--bcher-kva.example",
    ]) {
      assert.equal(isValidMailbox(address), true, address);
    }
  });

  it("accepts IPv4 address literals and refuses malformed ones", () => {
    for (const address of ["user@[192.0.2.1]", "user@[0.0.0.0]", "user@[255.255.255.255]"]) {
      assert.equal(isValidMailbox(address), true, address);
    }
    for (const address of [
      "user@[256.0.0.1]",
      "user@[192.0.2]",
      "user@[192.0.2.1.5]",
      "user@[1234.0.0.1]",
      "user@192.0.2.1]",
      "user@[192.0.2.1",
    ]) {
      assert.equal(isValidMailbox(address), false, address);
    }
  });

  it("refuses malformed local parts and domains", () => {
    for (const address of [
      "@example.test",
      "alice@",
      "alice",
      ".alice@example.test",
      "alice.@example.test",
      "al..ice@example.test",
      "alice@localhost",
      "alice@.example.test",
      "alice@example.test.",
      "alice@example..test",
      "alice@-example.test",
      "alice@example-.test",
      "alice@exa_mple.test",
    ]) {
      assert.equal(isValidMailbox(address), false, address);
    }
  });

  it("enforces RFC 5321 length limits: local part 64 octets, domain label 63, domain 255", () => {
    const label63 = "b".repeat(63);
    assert.equal(isValidMailbox(`${"a".repeat(64)}@example.test`), true);
    assert.equal(isValidMailbox(`${"a".repeat(65)}@example.test`), false);
    assert.equal(isValidMailbox(`a@${label63}.test`), true);
    assert.equal(isValidMailbox(`a@${"b".repeat(64)}.test`), false);
    const longestFitting = `a@${label63}.${label63}.${label63}.${"c".repeat(60)}`;
    assert.equal(longestFitting.length, 254);
    assert.equal(isValidMailbox(longestFitting), true);
    const domain256 = `${label63}.${label63}.${label63}.${"c".repeat(62)}.d`;
    assert.equal(domain256.length, 256);
    assert.equal(isValidMailbox(`a@${domain256}`), false);
  });

  // RFC 5321 §4.5.3.1.3: a path is at most 256 octets including "<" and ">", so a mailbox is at
  // most 254; the local-part and domain limits alone allow 64 + 1 + 255 = 320.
  it("refuses a mailbox longer than 254 octets", {}, () => {
    const label63 = "b".repeat(63);
    const address = `${"a".repeat(64)}@${label63}.${label63}.${label63}.${"c".repeat(63)}`;
    assert.equal(address.length, 320);
    assert.equal(isValidMailbox(address), false);
  });

  it("property: a well-formed address of letters, digits, dots, hyphens and plus is accepted", () => {
    fc.assert(fc.property(wellFormed, (address) => assert.equal(isValidMailbox(address), true, address)));
  });

  it("property: an accepted address has exactly one @ and no %, !, quotes, spaces or control characters", () => {
    // Well-formed addresses with up to two characters inserted: about a third are still accepted, so
    // the invariant is checked on many accepted addresses near the boundary.
    const insertion = fc.tuple(fc.nat(), fc.constantFrom(..."@%!\"' \t\r\n\0\x7f[]:;,<>\\()ü.-+_"));
    const candidate = fc.oneof(
      fc.tuple(wellFormed, fc.array(insertion, { maxLength: 2 })).map(([address, inserts]) =>
        inserts.reduce((s, [at, c]) => {
          const i = at % (s.length + 1);
          return s.slice(0, i) + c + s.slice(i);
        }, address),
      ),
      fc.string({ unit: "binary", maxLength: 24 }),
    );
    fc.assert(
      fc.property(candidate, (address) => {
        if (!isValidMailbox(address)) return;
        assert.equal(address.split("@").length, 2, address);
        assert.doesNotMatch(address, /[%!"\s\p{Cc}]/u, address);
        assert.match(address, /^[\x21-\x7e]+$/, address);
      }),
      { numRuns: 2000 },
    );
  });
});
