// resource.Quantity ("25Mi", "1.5G", "1e6", 1024) to a whole number, rounded away from zero as
// Kubernetes' Quantity.Value() rounds. Exact: the digits are scaled as integers, never as floating point.

const binary: Record<string, bigint> = { Ki: 1n, Mi: 2n, Gi: 3n, Ti: 4n, Pi: 5n, Ei: 6n };
const decimal: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const pattern = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?[0-9]+))$/;

/** The value of a quantity, rounded away from zero to an integer; undefined if it is no quantity. */
export function quantityValue(quantity: string | number): bigint | undefined {
  const match = pattern.exec(String(quantity));
  if (!match) return undefined;
  const [, sign = "", whole = "", fraction = "", binarySuffix, decimalSuffix, exponent] = match;
  if (whole === "" && fraction === "") return undefined;
  let numerator = BigInt(`${whole}${fraction}` || "0");
  let denominator = 10n ** BigInt(fraction.length);
  if (binarySuffix !== undefined) {
    numerator *= 1024n ** (binary[binarySuffix] ?? 0n);
  } else {
    const power = exponent !== undefined ? Number(exponent) : (decimal[decimalSuffix ?? ""] ?? 0);
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  const rounded = (numerator + denominator - 1n) / denominator;
  return sign === "-" ? -rounded : rounded; // away from zero, as Kubernetes rounds
}
