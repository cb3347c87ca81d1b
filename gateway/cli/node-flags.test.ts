// The flags must reach every way the gateway is started; the places that cannot import them are
// checked here.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { GATEWAY_NODE_FLAGS } from "./node-flags.ts";

const file = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), "utf8");

test("the image's default command and the standalone bin's shebang carry the gateway's Node.js flags", async () => {
  const cmd = /^CMD (\[.*\])$/m.exec(await file("Containerfile"))?.[1];
  assert.ok(cmd, "Containerfile has a CMD");
  assert.deepEqual(JSON.parse(cmd).slice(0, GATEWAY_NODE_FLAGS.length), [...GATEWAY_NODE_FLAGS]);
  const shebang = (await file("gateway/cli/postern-gateway.ts")).split("\n")[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${GATEWAY_NODE_FLAGS.join(" ")}`);
});
