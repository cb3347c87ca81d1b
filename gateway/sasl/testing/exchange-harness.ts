// Drives mechanisms in tests: runs response sequences, checks the lifecycle every exchange shares,
// and supplies the fast-check inputs (arbitrary bytes, mutated valid frames) the property tests use.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { SaslContext, SaslMechanism, SaslStep } from "../mechanism.ts";
import { type FakeBackend, fakeContext } from "./fake-backend.ts";

export type Response = Buffer | undefined;

/** Runs a fresh exchange over `responses` and returns every step it answered. */
export async function run(
  mechanism: SaslMechanism,
  backend: FakeBackend,
  responses: readonly Response[],
  context: SaslContext = fakeContext(),
): Promise<SaslStep[]> {
  const exchange = mechanism.start(context, backend);
  const steps: SaslStep[] = [];
  for (const response of responses) steps.push(await exchange.step(response));
  return steps;
}

/** The last step, for exchanges expected to end exactly there. */
export async function outcome(
  mechanism: SaslMechanism,
  backend: FakeBackend,
  responses: readonly Response[],
  context?: SaslContext,
): Promise<SaslStep> {
  const steps = await run(mechanism, backend, responses, context);
  const last = steps.at(-1);
  assert.ok(last, "no step was run");
  return last;
}

/** The first terminal step, after checking that every step after it failed (a finished exchange stays finished). */
export function firstTerminal(steps: readonly SaslStep[]): SaslStep | undefined {
  const index = steps.findIndex((step) => step.kind !== "challenge");
  if (index < 0) return undefined;
  for (const later of steps.slice(index + 1)) assert.equal(later.kind, "failure");
  return steps[index];
}

/** A success must be one the backend vouched for, including any authorization identity. */
export function assertVouched(step: SaslStep | undefined, backend: FakeBackend): void {
  if (step?.kind !== "success") return;
  assert.ok(backend.vouched.has(step.username), `success for ${step.username} was never vouched for`);
  if (step.authzid !== undefined) assert.ok(backend.allowed.has(`${step.username}→${step.authzid}`));
}

export const text = (value: string): Buffer => Buffer.from(value);

export const bytes = fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array));

/** Response lists as a driver delivers them: the first may be absent (no initial response), later ones never are. */
export const responseLists = fc
  .tuple(fc.option(bytes, { nil: undefined }), fc.array(bytes, { maxLength: 3 }))
  .map(([first, rest]): Response[] => [first, ...rest]);

// Bytes the decoders split on or must refuse, plus a bad UTF-8 lead and continuation.
const interestingByte = fc.oneof(
  fc.constantFrom(0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x2c, 0x3d, 0x41, 0x61, 0x7f, 0x80, 0xc3, 0xff),
  fc.integer({ min: 0, max: 255 }),
);

type Edit = (frame: Buffer) => Buffer;

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), interestingByte).map(
    ([at, byte]): Edit =>
      (frame) => {
        const copy = Buffer.from(frame);
        if (copy.length > 0) copy[at % copy.length] = byte;
        return copy;
      },
  ),
  fc.tuple(fc.nat(), interestingByte).map(
    ([at, byte]): Edit =>
      (frame) => {
        const i = at % (frame.length + 1);
        return Buffer.concat([frame.subarray(0, i), Buffer.of(byte), frame.subarray(i)]);
      },
  ),
  fc.nat().map(
    (at): Edit =>
      (frame) => {
        const i = at % Math.max(frame.length, 1);
        return Buffer.concat([frame.subarray(0, i), frame.subarray(i + 1)]);
      },
  ),
  fc.nat().map(
    (at): Edit =>
      (frame) =>
        frame.subarray(0, at % (frame.length + 1)),
  ),
);

/** A valid frame after up to three small edits (none at all now and then, so success paths run too). */
export function mutated(frame: Buffer): fc.Arbitrary<Buffer> {
  return fc.array(edit, { maxLength: 3 }).map((edits) => edits.reduce((f, apply) => apply(f), frame));
}

export function isOneOf(frame: Buffer, valid: readonly Buffer[]): boolean {
  return valid.some((candidate) => candidate.equals(frame));
}

/** The property every decoder must hold: arbitrary responses never throw and never authenticate. */
export async function assertNeverAuthenticates(
  mechanism: SaslMechanism,
  backend: () => FakeBackend,
  inputs: fc.Arbitrary<Response[]> = responseLists,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(inputs, async (responses) => {
      assert.notEqual(firstTerminal(await run(mechanism, backend(), responses))?.kind, "success");
    }),
  );
}
