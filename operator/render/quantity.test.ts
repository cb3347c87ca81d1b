import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { quantity } from "../../crds/schema/kubernetes.ts";
import { quantityValue } from "./quantity.ts";

describe("quantityValue", () => {
  const cases: [string | number, bigint][] = [
    [1024, 1024n],
    ["1024", 1024n],
    ["25Mi", 26_214_400n],
    ["1.5Ki", 1536n],
    ["0.1Ki", 103n], // 102.4, rounded up
    ["2k", 2000n],
    ["1.5G", 1_500_000_000n],
    ["1E", 10n ** 18n],
    ["1Ei", 1024n ** 6n],
    ["1e6", 1_000_000n],
    ["1.5e3", 1500n],
    ["5e-1", 1n],
    ["100m", 1n],
    ["+7", 7n],
    ["-1.5", -2n],
    [".5", 1n],
    ["1.", 1n],
    ["123456789012345678901234567890", 123456789012345678901234567890n],
  ];
  for (const [text, value] of cases) {
    it(`${JSON.stringify(text)} is ${value}`, () => assert.equal(quantityValue(text), value));
  }

  it("is undefined for what is no quantity", () => {
    for (const text of ["", ".", "abc", "1Mb", "1 Mi", "Mi", "1e", "1ki"]) {
      assert.equal(quantityValue(text), undefined, text);
    }
  });

  it("refuses a fractional exponent, which the API's pattern allows but no Quantity has", () => {
    assert.ok(quantity.safeParse("1e0.5").success);
    assert.equal(quantityValue("1e0.5"), undefined);
  });

  it("reads every other quantity the API accepts, and nothing else", () => {
    const piece = fc.constantFrom(..."0123456789.+-eEKMGTPEimnuk");
    fc.assert(
      fc.property(fc.string({ unit: piece, minLength: 1, maxLength: 8 }), (text) => {
        fc.pre(!/[eE][-+]?[0-9]*\./.test(text));
        assert.equal(quantityValue(text) !== undefined, quantity.safeParse(text).success, text);
      }),
      { numRuns: 5000 },
    );
  });
});
