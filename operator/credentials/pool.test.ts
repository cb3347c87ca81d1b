import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveVerifiers } from "../../gateway/credentials/derive.ts";
import { verifiersSchema } from "../../gateway/credentials/users-file.ts";
import { ensureThreadpoolSize, threadpoolSize } from "./threadpool.ts";
import { verifiersMatch } from "./verify.ts";

describe("threadpool", () => {
  it("raises UV_THREADPOOL_SIZE to two per derivation slot plus libuv's four, never lowers it", () => {
    assert.equal(threadpoolSize(8), 20);
    const env: NodeJS.ProcessEnv = {};
    assert.equal(ensureThreadpoolSize(env), threadpoolSize());
    assert.equal(env.UV_THREADPOOL_SIZE, String(threadpoolSize()));
    const large = { UV_THREADPOOL_SIZE: "512" };
    assert.equal(ensureThreadpoolSize(large), 512);
    assert.equal(large.UV_THREADPOOL_SIZE, "512");
  });
});

describe("verifiersMatch", () => {
  it("tells the password the verifiers came from, with whichever verifier is there", async () => {
    for (const mechanisms of [["CRAM-MD5"], ["SCRAM-SHA-256"], ["PLAIN"]]) {
      const verifiers = verifiersSchema.parse(await deriveVerifiers("right", { mechanisms }));
      assert.equal(await verifiersMatch(verifiers, "right"), true, mechanisms[0]);
      assert.equal(await verifiersMatch(verifiers, "wrong"), false, mechanisms[0]);
      assert.equal(await verifiersMatch(verifiers, "righ"), false, mechanisms[0]);
    }
    // SASLprep refuses a control character: no match, rather than an exception.
    const scram = verifiersSchema.parse(await deriveVerifiers("right", { mechanisms: ["SCRAM-SHA-256"] }));
    assert.equal(await verifiersMatch(scram, "\u0007"), false);
  });
});
