import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { clientFirstExchange, guardedExchange } from "./exchange.ts";
import type { SaslStep } from "./mechanism.ts";

const challenge: SaslStep = { kind: "challenge", data: Buffer.from("more") };

describe("exchange lifecycle", () => {
  test("challenges keep an exchange open; success or failure closes it", async () => {
    const results: SaslStep[] = [challenge, { kind: "success", username: "alice" }];
    const exchange = guardedExchange(async () => results.shift() ?? challenge);
    assert.equal((await exchange.step(undefined)).kind, "challenge");
    assert.equal((await exchange.step(Buffer.alloc(0))).kind, "success");
    assert.deepEqual(await exchange.step(Buffer.alloc(0)), { kind: "failure", reason: "malformed" });
  });

  test("a step that overlaps a pending one is refused", async () => {
    let release = () => {};
    const exchange = guardedExchange(
      () =>
        new Promise<SaslStep>((resolve) => {
          release = () => resolve(challenge);
        }),
    );
    const pending = exchange.step(undefined);
    assert.deepEqual(await exchange.step(undefined), { kind: "failure", reason: "malformed" });
    release();
    assert.equal((await pending).kind, "challenge");
  });

  test("a backend error propagates to the driver and ends the exchange", async () => {
    const exchange = guardedExchange(async () => {
      throw new Error("store down");
    });
    await assert.rejects(exchange.step(undefined), /store down/);
    assert.deepEqual(await exchange.step(undefined), { kind: "failure", reason: "malformed" });
  });

  test("client-first: only a missing first response gets the empty challenge", async () => {
    const seen: Buffer[] = [];
    const exchange = clientFirstExchange(async (response) => {
      seen.push(response);
      return challenge;
    });
    assert.deepEqual(await exchange.step(undefined), { kind: "challenge", data: Buffer.alloc(0) });
    assert.equal((await exchange.step(Buffer.from("x"))).kind, "challenge");
    assert.deepEqual(await exchange.step(undefined), { kind: "failure", reason: "malformed" });
    assert.deepEqual(seen, [Buffer.from("x")]);
  });
});
