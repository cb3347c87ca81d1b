// `postern-gateway verifiers` without --scram-iterations derives SCRAM keys no cheaper than the operator
// would for a SubmissionGateway that leaves spec.auth.scramIterations at its default, so a users file
// made by hand is never the weak spot beside operator-made ones; a lower count is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { parseSubmissionGateway } from "../../crds/schema/submission-gateway.ts";
import { run } from "../testing/run.ts";

const CLI = fileURLToPath(new URL("./postern-gateway.ts", import.meta.url));

test("verifiers: the default SCRAM iteration count is at least the operator's default", async () => {
  const parsed = parseSubmissionGateway({
    apiVersion: "postern.io/v1alpha1",
    kind: "SubmissionGateway",
    metadata: { name: "corp", namespace: "mail" },
    spec: { tls: { secretRef: { name: "corp-tls" } }, relay: { host: "smtp.example.com" } },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.error);
  const operatorDefault = parsed.value.spec.auth.scramIterations;
  const result = await run(process.execPath, [CLI, "verifiers", "--username", "u@example.test"], {
    input: "a password\n",
  });
  assert.equal(result.code, 0, result.stderr);
  const iterations = parse(result.stdout).users[0].verifiers.scramSha256.iterations;
  assert.ok(iterations >= operatorDefault, `${iterations} < ${operatorDefault}`);
  const lower = await run(
    process.execPath,
    [CLI, "verifiers", "--username", "u", "--scram-iterations", "1000"],
    {
      input: "a password\n",
    },
  );
  assert.equal(lower.code, 64, "a count below RFC 7677's 4096 is a usage error");
});
