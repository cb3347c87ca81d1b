// postern-gateway probe as the chart's `helm test` Pod runs it: a subprocess against a real gateway
// (STARTTLS with the test PKI, AUTH against derived verifiers), its exit code and what it prints.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../testing/run.ts";
import { ALICE, NO_LOCKOUTS, startTestGateway } from "../testing/test-gateway.ts";

const CLI = fileURLToPath(new URL("./postern-gateway.ts", import.meta.url));

test("probe: STARTTLS and AUTH against a real gateway", async (t) => {
  const gw = await startTestGateway(t, { auth: { bruteForce: NO_LOCKOUTS } });
  const dir = await mkdtemp(join(tmpdir(), "postern-probe-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = async (password: string) => {
    await writeFile(join(dir, "username"), ALICE.username);
    // As `echo alice-secret > password` leaves it: the one trailing newline is not the password's.
    await writeFile(join(dir, "password"), `${password}\n`);
    return ["--username-file", join(dir, "username"), "--password-file", join(dir, "password")];
  };
  const probe = async (password: string, ...flags: string[]) =>
    run(
      process.execPath,
      [
        CLI,
        "probe",
        "--host",
        "127.0.0.1",
        "--port",
        String(gw.ports.submission),
        ...(await files(password)),
        ...flags,
      ],
      { timeoutMs: 30_000 },
    );

  await t.test("the right login, the certificate checked against the CA: exit 0", async () => {
    const result = await probe(ALICE.password, "--ca-file", gw.pki.caCert, "--servername", "localhost");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /STARTTLS and AUTH as alice@example\.test accepted/);
  });

  await t.test("a wrong password: exit 1 with the gateway's 535", async () => {
    const result = await probe("not-alice", "--ca-file", gw.pki.caCert, "--servername", "localhost");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^postern-gateway probe: 127\.0\.0\.1:\d+: .*535/m);
  });

  await t.test("a certificate that does not carry the expected name: exit 1 before AUTH", async () => {
    const result = await probe(ALICE.password, "--ca-file", gw.pki.caCert, "--servername", "corp.mail.svc");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not match certificate's altnames/);
  });

  await t.test("--insecure accepts that certificate", async () => {
    const result = await probe(ALICE.password, "--insecure", "--servername", "corp.mail.svc");
    assert.equal(result.code, 0, result.stderr);
  });

  await t.test("no server to talk to: exit 1 naming the connection error", async () => {
    const result = await run(
      process.execPath,
      [CLI, "probe", "--host", "127.0.0.1", "--port", "1", ...(await files("x")), "--insecure"],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /ECONNREFUSED/);
  });

  await t.test("wrong flags: exit 64 naming the flag", async () => {
    for (const [flags, message] of [
      [[], /--ca-file: required to check the gateway's certificate \(or --insecure\)/],
      [["--insecure", "--port", "99999"], /--port: must be a port number/],
      [["--insecure", "--ca-file", gw.pki.caCert], /--insecure: not with --ca-file/],
    ] as const) {
      const result = await probe(ALICE.password, ...flags);
      assert.equal(result.code, 64, result.stderr);
      assert.match(result.stderr, message);
    }
  });
});
