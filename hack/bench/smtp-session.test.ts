import assert from "node:assert/strict";
import { test } from "node:test";
import { errorText, parseTarget } from "./smtp-session.ts";

test("targets are host:port, with IPv6 addresses in brackets", () => {
  assert.deepEqual(parseTarget("127.0.0.1:10587"), { host: "127.0.0.1", port: 10587 });
  assert.deepEqual(parseTarget("[::1]:587"), { host: "::1", port: 587 });
  assert.throws(() => parseTarget("127.0.0.1"), /HOST:PORT/);
  assert.throws(() => parseTarget("127.0.0.1:0"), /HOST:PORT/);
  assert.throws(() => parseTarget(":587"), /HOST:PORT/);
});

test("a failure counts as the server's reply when there is one, else as the client's error code", () => {
  assert.equal(
    errorText({ response: "454 4.7.0 Temporary authentication failure", code: "EAUTH" }),
    "454 4.7.0 Temporary authentication failure",
  );
  assert.equal(
    errorText(Object.assign(new Error("connect ECONNREFUSED"), { code: "ESOCKET" })),
    "ESOCKET: connect ECONNREFUSED",
  );
  assert.equal(errorText("boom"), "ERROR: boom");
});
