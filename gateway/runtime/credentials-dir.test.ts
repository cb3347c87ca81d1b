// The operator's layout against a running gateway: users in shard files of one projected volume
// (`..data` → `..<timestamp>`, symlinks beside it), read from one snapshot, merged, hot-reloaded, and a
// decoy key that makes every instance answer an unknown user with the same SCRAM salt.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { startGateway } from "../gateway.ts";
import { authPlain, base64, RawSmtp } from "../testing/raw-smtp.ts";
import {
  ALICE,
  startTestGateway,
  type TestGateway,
  type TestGatewayOptions,
  type TestUser,
  usersYaml,
} from "../testing/test-gateway.ts";

const CLI = fileURLToPath(new URL("../cli/postern-gateway.ts", import.meta.url));
const BOB: TestUser = { username: "bob@example.test", password: "bob-secret" };
const CAROL: TestUser = { username: "carol@example.test", password: "carol-secret" };
const SHARDED = {
  credentialsFile: undefined,
  credentialsDir: "credentials",
  scramDecoyKeyFile: "credentials/scram-decoy.key",
};

const decoyKey = () => randomBytes(32).toString("base64");

/** A gateway reading `credentials/` as the operator renders it: shards and a decoy key. */
function shardedGateway(
  t: Parameters<typeof startTestGateway>[0],
  credentials: Record<string, string>,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  return startTestGateway(t, { auth: SHARDED, credentials, ...options });
}

async function logsIn(gw: TestGateway, user: TestUser, mechanism: "PLAIN" | "SCRAM-SHA-256") {
  try {
    (await RawSmtp.authenticated(gw.ports.submissions, user, { tls: "implicit", mechanism })).close();
    return true;
  } catch {
    return false;
  }
}

/** The `s=` of the server-first-message the gateway sends `username`, then cancels the exchange. */
async function scramSalt(port: number, username: string): Promise<string> {
  const c = await RawSmtp.session(port, { tls: "implicit" });
  const reply = await c.command(`AUTH SCRAM-SHA-256 ${base64(`n,,n=${username},r=clientnonce`)}`);
  assert.equal(reply.code, 334, reply.last);
  await c.command("*");
  c.close();
  const serverFirst = Buffer.from(reply.lines[0] ?? "", "base64").toString();
  const salt = /(?:^|,)s=([^,]+)/.exec(serverFirst)?.[1];
  assert.ok(salt, serverFirst);
  return salt;
}

async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) assert.fail(`not in force within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const reloads = async (gw: TestGateway, result: "success" | "failure") =>
  Number(
    /kind="credentials",result="\w+"} (\d+)/.exec(
      (await gw.metrics.registry.getSingleMetricAsString("postern_config_reloads_total"))
        .split("\n")
        .find((l) => l.includes(`kind="credentials",result="${result}"`)) ?? "",
    )?.[1] ?? 0,
  );

test("a user in shard users-03.yaml logs in with PLAIN and SCRAM-SHA-256; other shards merge in", async (t) => {
  const gw = await shardedGateway(t, {
    "users-00.yaml": await usersYaml([BOB]),
    "users-03.yaml": await usersYaml([ALICE]),
    "scram-decoy.key": decoyKey(),
  });
  assert.equal(await logsIn(gw, ALICE, "PLAIN"), true);
  assert.equal(await logsIn(gw, ALICE, "SCRAM-SHA-256"), true);
  assert.equal(await logsIn(gw, BOB, "PLAIN"), true);
  assert.equal(await logsIn(gw, { ...ALICE, password: "wrong" }, "PLAIN"), false);
});

test("a shard swap (new ..data) takes effect without restart: changed, added and removed shards", async (t) => {
  const gw = await shardedGateway(t, {
    "users-00.yaml": await usersYaml([BOB]),
    "users-03.yaml": await usersYaml([ALICE]),
    "scram-decoy.key": decoyKey(),
  });
  const rotated = { ...ALICE, password: "alice-rotated" };
  // users-00.yaml is gone from the new snapshot; its old symlink beside ..data dangles, as kubelet
  // leaves it until it cleans up, and must not matter.
  await gw.swapVolume("credentials", {
    "users-03.yaml": await gw.usersYaml([rotated]),
    "users-07.yaml": await gw.usersYaml([CAROL]),
    "scram-decoy.key": decoyKey(),
  });
  await within(1000, () => logsIn(gw, CAROL, "PLAIN"));
  assert.equal(await logsIn(gw, rotated, "SCRAM-SHA-256"), true);
  assert.equal(await logsIn(gw, ALICE, "PLAIN"), false);
  assert.equal(await logsIn(gw, BOB, "PLAIN"), false);
});

test("a bad new shard is refused and the last good store stays in force", async (t) => {
  const gw = await shardedGateway(t, {
    "users-03.yaml": await usersYaml([ALICE]),
    "scram-decoy.key": decoyKey(),
  });
  const key = decoyKey();
  for (const [name, bad] of [
    ["a user in two shards", { "users-05.yaml": await gw.usersYaml([{ ...ALICE, password: "other" }]) }],
    ["a shard that does not parse", { "users-09.yaml": "users:\n  - username: x\n    verifiers: {}\n" }],
    ["a decoy key of the wrong length", { "scram-decoy.key": randomBytes(16).toString("base64") }],
  ] as const) {
    const failures = await reloads(gw, "failure");
    await gw.swapVolume("credentials", {
      "users-03.yaml": await gw.usersYaml([ALICE, CAROL]),
      "scram-decoy.key": key,
      ...bad,
    });
    await within(1000, async () => (await reloads(gw, "failure")) > failures);
    assert.equal(await logsIn(gw, ALICE, "PLAIN"), true, name);
    assert.equal(await logsIn(gw, CAROL, "PLAIN"), false, `${name}: nothing of the bad snapshot applies`);
  }
});

test("a user in two shards refuses start-up, naming both files", async (t) => {
  const gw = await shardedGateway(
    t,
    {
      "users-01.yaml": await usersYaml([BOB]),
      "users-03.yaml": await usersYaml([ALICE]),
      "users-12.yaml": await usersYaml([{ ...ALICE, username: "ALICE@example.test" }]),
      "scram-decoy.key": decoyKey(),
    },
    { noStart: true },
  );
  const credentials = join(gw.dir, "credentials");
  await assert.rejects(startGateway(gw.dir, { logger: pino({ level: "silent" }) }), {
    message: `${credentials}/users-12.yaml: users[0].username: duplicate of ${credentials}/users-03.yaml: users[0].username (user names are case-insensitive)`,
  });
});

test("a changed decoy key reloads: an unknown user's salt follows the key", async (t) => {
  const gw = await shardedGateway(t, {
    "users-03.yaml": await usersYaml([ALICE]),
    "scram-decoy.key": decoyKey(),
  });
  const before = await scramSalt(gw.ports.submissions, "nobody@example.test");
  assert.equal(await scramSalt(gw.ports.submissions, "nobody@example.test"), before);
  await gw.swapVolume("credentials", {
    "users-03.yaml": await gw.usersYaml([ALICE]),
    "scram-decoy.key": decoyKey(),
  });
  await within(1000, async () => (await scramSalt(gw.ports.submissions, "nobody@example.test")) !== before);
});

test("different decoy key files give an unknown user different salts", async (t) => {
  const salts = await Promise.all(
    [decoyKey(), decoyKey()].map(async (key) => {
      const gw = await shardedGateway(t, {
        "users-03.yaml": await usersYaml([ALICE]),
        "scram-decoy.key": key,
      });
      return scramSalt(gw.ports.submissions, "nobody@example.test");
    }),
  );
  assert.notEqual(salts[0], salts[1]);
});

/** `postern-gateway --config dir` as its own process, once it accepts connections. */
async function gatewayProcess(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, "--config", dir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const start = Date.now();
  for (;;) {
    if (child.exitCode !== null) assert.fail(`gateway exited ${child.exitCode}: ${stderr}`);
    try {
      (await RawSmtp.session(port, { tls: "implicit" })).close();
      return child;
    } catch {
      if (Date.now() - start > 20_000) {
        child.kill("SIGKILL");
        assert.fail(`gateway did not listen within 20 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test("two gateway processes started from the same directory give an unknown user the same salt", async (t) => {
  const gw = await shardedGateway(
    t,
    {
      "users-03.yaml": await usersYaml([ALICE]),
      "scram-decoy.key": decoyKey(),
    },
    { noStart: true },
  );
  const salts: string[] = [];
  // One after the other on the same ports: a restart, and a replica, read the same volume.
  for (let instance = 0; instance < 2; instance++) {
    const child = await gatewayProcess(gw.dir, gw.ports.submissions);
    try {
      salts.push(await scramSalt(gw.ports.submissions, "Nobody@example.test"));
      assert.equal(
        (
          await RawSmtp.session(gw.ports.submissions, { tls: "implicit" }).then(async (c) => {
            const reply = await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`);
            c.close();
            return reply;
          })
        ).code,
        235,
      );
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }
  assert.equal(salts[0], salts[1]);
});
