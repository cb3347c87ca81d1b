import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chargesOf, checkCharges } from "./charges.ts";

const limit = { messages: 2, windowSeconds: 60 };

describe("chargesOf", () => {
  it("charges a login acting as itself once, under its identity key", () => {
    assert.deepEqual(
      chargesOf({ username: "Alice@Example.test" }, { username: "alice@example.test" }, limit),
      [{ key: "alice@example.test", limit }],
    );
  });

  it("charges the login and the identity it acts for, each with its own limit or the default", () => {
    const own = { messages: 9, windowSeconds: 60 };
    assert.deepEqual(
      chargesOf({ username: "agent@x.test" }, { username: "Team@x.test", rateLimit: own }, limit),
      [
        { key: "agent@x.test", limit },
        { key: "team@x.test", limit: own },
      ],
    );
  });
});

describe("checkCharges", () => {
  it("returns the first refusal among charges with a limit, skipping unlimited ones", () => {
    const charges = [
      { key: "free", limit: undefined },
      { key: "a", limit },
      { key: "b", limit },
    ];
    const asked: string[] = [];
    const verdict = checkCharges(charges, (key) => {
      asked.push(key);
      return key === "a" ? { ok: false, retryAfterSeconds: 7 } : { ok: true };
    });
    assert.deepEqual(verdict, { ok: false, retryAfterSeconds: 7 });
    assert.deepEqual(asked, ["a"]);
  });
});
