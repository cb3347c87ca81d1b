import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import type { PeerCertificate } from "node:tls";
import fc from "fast-check";
import { certificateIdentity, parseSubjectAltNames } from "./certificate-identity.ts";
import { CredentialStore } from "./store.ts";
import { usersFileSchema } from "./users-file.ts";

// Made with openssl: CN=Alice@Example.test, O=Postern Test; SAN DNS:client.example.test,
// email:alice@example.test, email:"odd, name@example.test", IP:192.0.2.1, URI:https://example.test/a.
const ALICE_PEM = `-----BEGIN CERTIFICATE-----
MIIB+DCCAZ+gAwIBAgIUO8Hw2f4pYU8s/cj6tOpPHBWgTDUwCgYIKoZIzj0EAwIw
NDEbMBkGA1UEAwwSQWxpY2VARXhhbXBsZS50ZXN0MRUwEwYDVQQKDAxQb3N0ZXJu
IFRlc3QwIBcNMjYxMTI4MDc1NjM0WhgPMjEyNjExMDQwNzU2MzRaMDQxGzAZBgNV
BAMMEkFsaWNlQEV4YW1wbGUudGVzdDEVMBMGA1UECgwMUG9zdGVybiBUZXN0MFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbcXOltueozvKKJpY6vGSvxTggEcBUQHS
GtzXD8+IN92WbiAVgoxqtnQYPZrjO0yXALTijjz6LififQNk3fmIvKOBjDCBiTBo
BgNVHREEYTBfghNjbGllbnQuZXhhbXBsZS50ZXN0gRJhbGljZUBleGFtcGxlLnRl
c3SBFm9kZCwgbmFtZUBleGFtcGxlLnRlc3SHBMAAAgGGFmh0dHBzOi8vZXhhbXBs
ZS50ZXN0L2EwHQYDVR0OBBYEFH/3p4qNE1O5/X8iw1Vze2N3W/fxMAoGCCqGSM49
BAMCA0cAMEQCIHuT6ToKJ9Xrd1VvEjKqUzCgPH0UBD2P57VTeVOsftgUAiAJOQgG
8OQbtWUxwB+OpEw2yukYiBPLffy8oPtEhzj/Og==
-----END CERTIFICATE-----
`;
// Made with openssl: two CNs and two email SANs, carol@example.test and alice@example.test.
const TWO_NAMES_PEM = `-----BEGIN CERTIFICATE-----
MIIBzTCCAXKgAwIBAgIUJT0zmI73xjevQCnugfR2HDN/NEswCgYIKoZIzj0EAwIw
OjEbMBkGA1UEAwwSY2Fyb2xAZXhhbXBsZS50ZXN0MRswGQYDVQQDDBJhbGljZUBl
eGFtcGxlLnRlc3QwIBcNMjYxMTI4MDgwMDQyWhgPMjEyNjExMDQwODAwNDJaMDox
GzAZBgNVBAMMEmNhcm9sQGV4YW1wbGUudGVzdDEbMBkGA1UEAwwSYWxpY2VAZXhh
bXBsZS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+xjmeyrYGW5H+GjX
3VjiJ2EN0ARcC+eL1QvI+r/MTyPs7CuholcySXX8bXXuMJCX6HGnAv8x+4JxG5Pt
zxN9FKNUMFIwMQYDVR0RBCowKIESY2Fyb2xAZXhhbXBsZS50ZXN0gRJhbGljZUBl
eGFtcGxlLnRlc3QwHQYDVR0OBBYEFM5PSdu1X5uU12UYyOE+zeglNdpWMAoGCCqG
SM49BAMCA0kAMEYCIQDhBgNJs8TXb8UtRcJ8mghQEnYctaiyzggxufwTMFDSMAIh
ANcuTEDGZ7Of1CQQRC2YeaWPNoojAOZGU94Xu0v3vwsc
-----END CERTIFICATE-----
`;

/** What node:tls hands the server for a verified client certificate. */
const peer = (pem: string) => new X509Certificate(pem).toLegacyObject() as PeerCertificate;

const BCRYPT = "{BLF-CRYPT}$2y$05$tjFugdy/9vT28lJ13gnVeO0AeLGDnQQajypylvgj8612xhfvEV3.q";
function storeOf(...users: [string, boolean?][]): CredentialStore {
  return new CredentialStore(
    usersFileSchema.parse({
      users: users.map(([username, disabled]) => ({
        username,
        disabled,
        senders: [],
        verifiers: { password: BCRYPT },
      })),
    }),
  );
}

describe("parseSubjectAltNames", () => {
  it("parses Node's rendering of a real certificate, JSON-quoted values included", () => {
    assert.deepEqual(parseSubjectAltNames(peer(ALICE_PEM).subjectaltname ?? ""), [
      { type: "DNS", value: "client.example.test" },
      { type: "email", value: "alice@example.test" },
      { type: "email", value: "odd, name@example.test" },
      { type: "IP Address", value: "192.0.2.1" },
      { type: "URI", value: "https://example.test/a" },
    ]);
  });

  it("reads an empty list as no names", () => {
    assert.deepEqual(parseSubjectAltNames(""), []);
  });

  it("refuses text not in Node's form instead of guessing", () => {
    for (const text of [
      "email",
      'email:"unterminated',
      'email:"a"x, DNS:b',
      'email:"bad \\q escape"',
      "email:a,DNS:b",
    ]) {
      assert.equal(parseSubjectAltNames(text), undefined, text);
    }
  });

  it("property: round-trips any names rendered the way Node renders them", () => {
    const needsQuoting = /[,"\\'\p{Cc}]/u;
    fc.assert(
      fc.property(
        fc.array(
          fc
            .record({
              type: fc.constantFrom("DNS", "email", "URI", "IP Address"),
              value: fc.string({ unit: "binary" }),
            })
            .map((name) => ({ ...name })), // plain objects, as the parser makes
        ),
        (names) => {
          const text = names
            .map(({ type, value }) => `${type}:${needsQuoting.test(value) ? JSON.stringify(value) : value}`)
            .join(", ");
          // An unquoted value starting with '"' or containing ", " cannot occur: Node quotes both.
          assert.deepEqual(parseSubjectAltNames(text), names);
        },
      ),
    );
  });
});

describe("certificateIdentity", () => {
  const cert = peer(ALICE_PEM);

  it("maps the email subjectAltName to the user, in the user's spelling", () => {
    assert.equal(
      certificateIdentity(cert, "subjectAltName.email", storeOf(["Alice@example.TEST"])),
      "Alice@example.TEST",
    );
  });

  it("does not split a quoted address at its comma", () => {
    // A naive split of 'email:"odd, name@example.test"' on commas would yield name@example.test.
    assert.equal(
      certificateIdentity(cert, "subjectAltName.email", storeOf(["name@example.test"])),
      undefined,
    );
  });

  it("maps the subject CN when configured", () => {
    assert.equal(
      certificateIdentity(cert, "subject.CN", storeOf(["alice@example.test"])),
      "alice@example.test",
    );
  });

  it("does not read DNS or URI names as emails", () => {
    assert.equal(
      certificateIdentity(cert, "subjectAltName.email", storeOf(["client.example.test"])),
      undefined,
    );
  });

  it("maps nobody when the named user is unknown or disabled", () => {
    assert.equal(
      certificateIdentity(cert, "subjectAltName.email", storeOf(["carol@example.test"])),
      undefined,
    );
    assert.equal(
      certificateIdentity(cert, "subjectAltName.email", storeOf(["alice@example.test", true])),
      undefined,
    );
    assert.equal(certificateIdentity(cert, "subject.CN", storeOf(["alice@example.test", true])), undefined);
    assert.equal(certificateIdentity(cert, "subjectAltName.email", CredentialStore.unavailable()), undefined);
  });

  it("maps the one known user of several names, and nobody when two users match", () => {
    const twoNames = peer(TWO_NAMES_PEM);
    for (const field of ["subject.CN", "subjectAltName.email"] as const) {
      assert.equal(
        certificateIdentity(twoNames, field, storeOf(["alice@example.test"])),
        "alice@example.test",
        field,
      );
      assert.equal(
        certificateIdentity(twoNames, field, storeOf(["alice@example.test"], ["carol@example.test"])),
        undefined,
        field,
      );
    }
  });

  it("maps nobody from a certificate without the field", () => {
    const bare = { subject: {}, subjectaltname: undefined } as unknown as PeerCertificate;
    assert.equal(certificateIdentity(bare, "subject.CN", storeOf(["alice@example.test"])), undefined);
    assert.equal(
      certificateIdentity(bare, "subjectAltName.email", storeOf(["alice@example.test"])),
      undefined,
    );
  });
});
