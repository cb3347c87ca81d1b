// freePort hands a port out once per process: callers draw several before listening on any.
import assert from "node:assert/strict";
import { test } from "node:test";
import { freePort } from "./ports.ts";

test("freePort never gives the same port twice, though none of them is listened on", async () => {
  // 500 draws from 12,000 ports repeat one with near certainty (birthday bound) unless excluded.
  const ports = [];
  for (let i = 0; i < 500; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
});
