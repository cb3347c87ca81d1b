import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeSaslname, parseGs2Header } from "./gs2-header.ts";
import { encodeSaslname } from "./testing/scram-client.ts";

describe("GS2 header", () => {
  test("parses n, y and p= flags with and without an authzid", () => {
    assert.deepEqual(parseGs2Header("n,,rest"), {
      header: "n,,",
      channelBinding: false,
      authzid: "",
      rest: "rest",
    });
    assert.deepEqual(parseGs2Header("y,a=bob=2Cjr,x"), {
      header: "y,a=bob=2Cjr,",
      channelBinding: false,
      authzid: "bob,jr",
      rest: "x",
    });
    assert.equal(parseGs2Header("p=tls-exporter,,")?.channelBinding, true);
  });

  test("refuses other flags, empty or unsafe authzids and bad escapes", () => {
    for (const bad of [
      "",
      "n,",
      "N,,",
      "x,,",
      "p=,,",
      "n,a=,",
      "n,b=x,",
      "n,a=x=2c,",
      "n,a=x\ny,",
      "n,a=x\0,",
    ]) {
      assert.equal(parseGs2Header(bad), undefined, JSON.stringify(bad));
    }
  });

  test("saslname: =2C and =3D decode without double decoding", () => {
    assert.equal(decodeSaslname("a=3D2Cb"), "a=2Cb");
    assert.equal(decodeSaslname("=2C=3D"), ",=");
    for (const bad of ["", "=", "a=", "=2", "=41", "=3d"]) assert.equal(decodeSaslname(bad), undefined, bad);
  });

  test("property: saslname decoding inverts the client's encoding", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: "grapheme" }), (name) => {
        assert.equal(decodeSaslname(encodeSaslname(name)), name);
      }),
    );
  });

  test("property: arbitrary strings never throw, and a parsed header is a prefix of the input", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `n,a=${s}`),
        ),
        (input) => {
          const parsed = parseGs2Header(input);
          if (parsed) assert.equal(parsed.header + parsed.rest, input);
        },
      ),
    );
  });
});
