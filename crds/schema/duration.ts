// Go-style durations, the subset people write ("500ms", "30s", "5m", "1h30m"): the API's spelling of the
// gateway's (positive) seconds. The API server reads them with CEL's duration(), the operator with
// durationMilliseconds.
import { z } from "zod";

const unitMilliseconds = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof unitMilliseconds;

/**
 * A duration longer than zero (every duration the gateway takes is); `wholeSeconds` leaves out milliseconds.
 * The pattern: parts worth zero, then one that is not, then any.
 */
export function durationText({ wholeSeconds = false } = {}) {
  const unit = wholeSeconds ? "(s|m|h)" : "(ms|s|m|h)";
  return z
    .string()
    .max(32)
    .regex(new RegExp(`^(0+${unit})*0*[1-9][0-9]*${unit}([0-9]+${unit})*$`));
}

/** A duration that defaults to `defaultValue`. */
export function duration(defaultValue: string) {
  return durationText().default(defaultValue);
}

/** The length of a duration the schema accepted, in milliseconds. */
export function durationMilliseconds(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    total += Number(amount) * unitMilliseconds[unit as Unit];
  }
  return total;
}

/** Whole seconds in the shortest spelling: 3600 → "1h", 5400 → "1h30m", 0 → "0s". */
export function secondsDuration(seconds: number): string {
  const parts = [
    [Math.floor(seconds / 3600), "h"],
    [Math.floor(seconds / 60) % 60, "m"],
    [seconds % 60, "s"],
  ] as const;
  return (
    parts
      .filter(([amount]) => amount > 0)
      .map(([amount, unit]) => `${amount}${unit}`)
      .join("") || "0s"
  );
}
