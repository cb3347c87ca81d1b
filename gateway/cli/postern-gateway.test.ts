// The postern-gateway command as a user runs it: a subprocess, its exit code and what it prints.
import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import argon2 from "@node-rs/argon2";
import { parse } from "yaml";
import { parseUsersFile } from "../credentials/users-file.ts";
import { run } from "../testing/run.ts";
import { startTestGateway } from "../testing/test-gateway.ts";

const CLI = fileURLToPath(new URL("./postern-gateway.ts", import.meta.url));
const REPO = resolve(dirname(CLI), "../..");
const EX_CONFIG = 2;

const cli = (args: string[], input?: string) =>
  run(process.execPath, [CLI, ...args], { input, timeoutMs: 30_000 });

test("an invalid gateway.yaml stops start-up with exit code 2, naming the file and the field", async (t) => {
  for (const { name, config, field } of [
    {
      name: "a port out of range",
      config: { listeners: [{ name: "submission", address: "127.0.0.1", port: 70000, mode: "starttls" }] },
      field: "listeners[0].port",
    },
    { name: "an upstream without a host", config: { upstream: { port: 25 } }, field: "upstream.host" },
  ]) {
    await t.test(name, async (t) => {
      const gw = await startTestGateway(t, { config, noStart: true });
      // A config that validated would start a gateway and never exit: run() would time out.
      const result = await cli(["--config", gw.dir]);
      assert.equal(result.code, EX_CONFIG, result.stderr);
      assert.match(result.stderr, /^postern-gateway: invalid configuration:$/m);
      const file = join(gw.dir, "gateway.yaml");
      assert.ok(result.stderr.includes(`${file}: ${field}: `), result.stderr);
      assert.equal(result.stdout, "");
    });
  }
});

test("npx --no-install postern-gateway --help works from the repository root", async () => {
  const PATH = `${join(REPO, "node_modules", ".bin")}:${process.env.PATH ?? ""}`;
  const result = await run("npx", ["--no-install", "postern-gateway", "--help"], {
    cwd: REPO,
    env: { ...process.env, PATH },
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^usage:$/m);
  assert.match(result.stdout, /postern-gateway --config DIR/);
  assert.match(result.stdout, /postern-gateway verifiers --username U/);
});

test("verifiers reads the password on stdin and prints only verifiers", async (t) => {
  const password = "correct horse battery staple";
  const result = await cli(["verifiers", "--username", "carol@example.test"], `${password}\n`);
  assert.equal(result.code, 0, result.stderr);
  const printed = parse(result.stdout);
  const entry = printed.users[0];

  await t.test("the YAML is a users.yaml entry the gateway loads", () => {
    assert.equal(printed.users.length, 1);
    assert.equal(entry.username, "carol@example.test");
    assert.deepEqual(entry.senders, ["carol@example.test"]);
    assert.equal(parseUsersFile(result.stdout, "stdout").users.length, 1);
  });

  await t.test("the argon2id hash verifies the password, and only it", async () => {
    assert.match(entry.verifiers.password, /^\$argon2id\$/);
    assert.equal(await argon2.verify(entry.verifiers.password, password), true);
    assert.equal(await argon2.verify(entry.verifiers.password, `${password}\n`), false);
    assert.equal(await argon2.verify(entry.verifiers.password, "wrong"), false);
  });

  await t.test("the SCRAM-SHA-256 keys match GNU SASL's derivation from the same salt", async () => {
    const { iterations, salt, storedKey, serverKey } = entry.verifiers.scramSha256;
    const gsasl = await run("gsasl", [
      "--mkpasswd",
      "--mechanism=SCRAM-SHA-256",
      `--iteration-count=${iterations}`,
      `--salt=${salt}`,
      `--password=${password}`,
    ]);
    assert.equal(gsasl.code, 0, gsasl.stderr);
    assert.equal(gsasl.stdout.trim(), `{SCRAM-SHA-256}${iterations},${salt},${storedKey},${serverKey}`);
  });

  await t.test("no plaintext password, and no plaintext-equivalent CRAM-MD5 secret unless asked", () => {
    assert.ok(!result.stdout.includes(password));
    assert.ok(!result.stdout.includes(Buffer.from(password).toString("base64")));
    assert.equal(entry.verifiers.cramMd5, undefined);
  });

  await t.test("an empty standard input is refused", async () => {
    const empty = await cli(["verifiers", "--username", "carol@example.test"], "");
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /no password on standard input/);
    assert.equal(empty.stdout, "");
  });
});

test("verifiers --mechanisms and --scram-iterations shape the entry; a count below 4096 is refused", async (t) => {
  await t.test("only the verifiers the mechanisms check, with the iterations asked for", async () => {
    const result = await cli(
      [
        "verifiers",
        "--username",
        "dan@example.test",
        "--mechanisms",
        "scram-sha-256,CRAM-MD5",
        "--scram-iterations",
        "8192",
      ],
      "pw\n",
    );
    assert.equal(result.code, 0, result.stderr);
    const { verifiers } = parseUsersFile(result.stdout, "stdout").users[0] ?? assert.fail("no entry");
    assert.equal(verifiers.password, undefined);
    assert.equal(verifiers.scramSha256?.iterations, 8192);
    assert.equal(verifiers.cramMd5?.toString(), "pw");
  });

  for (const [args, message] of [
    [["--scram-iterations", "4095"], /--scram-iterations must be a whole number of at least 4096/],
    [["--scram-iterations", "lots"], /--scram-iterations must be a whole number of at least 4096/],
    [["--mechanisms", "PLAIN,GSSAPI"], /unknown mechanism GSSAPI/],
    [["--mechanisms", "XOAUTH2"], /none of these mechanisms checks a stored verifier/],
    [["--mechanisms", "PLAIN", "--cram-md5"], /list CRAM-MD5 in --mechanisms/],
  ] as const) {
    await t.test(`refuses ${args.join(" ")}`, async () => {
      const result = await cli(["verifiers", "--username", "dan@example.test", ...args], "pw\n");
      assert.equal(result.code, 64);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }
});
