import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SMTPServer } from "smtp-server";
import { testPki } from "../../gateway/testing/certificates.ts";
import { idle, type LoadOptions, perMessage, pooled } from "./workloads.ts";

// A plain smtp-server with a TLS certificate: AUTH PLAIN is only offered after STARTTLS (the library's
// default), so every accepted login also proves the load generator upgraded the connection.
const seen = {
  connections: 0,
  open: 0,
  auths: 0,
  users: [] as string[],
  messages: [] as { bytes: number; secure: boolean }[],
};
let server: SMTPServer;
let port: number;

before(async () => {
  const pki = await testPki();
  server = new SMTPServer({
    key: await readFile(pki.serverKey),
    cert: await readFile(pki.serverCert),
    authMethods: ["PLAIN"],
    logger: false,
    onConnect(_session, done) {
      seen.connections++;
      seen.open++;
      done();
    },
    onClose() {
      seen.open--;
    },
    onAuth(auth, _session, done) {
      seen.auths++;
      seen.users.push(auth.username ?? "");
      if (auth.username?.endsWith("@example.com") && auth.password === "secret")
        return done(null, { user: auth.username });
      done(Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }));
    },
    onData(stream, session, done) {
      let bytes = 0;
      stream.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.on("end", () => {
        if (session.envelope.rcptTo.some((r) => r.address === "refused@example.net")) {
          return done(Object.assign(new Error("5.7.1 Refused by policy"), { responseCode: 550 }));
        }
        seen.messages.push({ bytes, secure: session.secure });
        done();
      });
    },
  });
  server.listen(0, "127.0.0.1");
  await once(server.server, "listening");
  port = (server.server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function reset() {
  seen.connections = 0;
  seen.auths = 0;
  seen.users = [];
  seen.messages = [];
}

const options = (overrides: Partial<LoadOptions> = {}): LoadOptions => ({
  targets: [{ host: "127.0.0.1", port }],
  credentials: { user: "alice@example.com", pass: "secret" },
  to: "bob@example.net",
  messageBytes: 4096,
  sessions: 2,
  session: { timeoutMs: 5000 },
  ...overrides,
});

test("pooled: one STARTTLS + AUTH per session, then 4 KB messages back to back", async () => {
  reset();
  const result = await pooled(options(), { warmupMs: 0, durationMs: 600 });
  assert.equal(result.errors, 0, JSON.stringify(result.errorTexts));
  assert.ok(result.messages > 2, `only ${result.messages} messages`);
  assert.equal(seen.connections, 2);
  assert.equal(seen.auths, 2);
  assert.ok(seen.messages.length >= result.messages);
  assert.ok(seen.messages.every((m) => m.bytes === 4096 && m.secure));
  assert.ok(result.latencyMs.p50 !== null && result.latencyMs.p50 > 0);
  assert.ok(Math.abs(result.messagesPerSecond - result.messages / 0.6) < 1e-9);
});

test("per-message: every message has its own connection, STARTTLS and AUTH", async () => {
  reset();
  const result = await perMessage(options(), { warmupMs: 0, durationMs: 600 });
  assert.equal(result.errors, 0, JSON.stringify(result.errorTexts));
  assert.ok(result.messages >= 2, `only ${result.messages} messages`);
  assert.equal(seen.auths, seen.connections);
  assert.equal(seen.messages.length, seen.connections);
  assert.ok(seen.messages.every((m) => m.bytes === 4096 && m.secure));
});

test("per-message, cold: each user logs in exactly once, and the run ends when all have", async () => {
  reset();
  const coldUsers = Array.from({ length: 7 }, (_, i) => `cold-${i}@example.com`);
  const result = await perMessage(options({ coldUsers, sessions: 3 }), { warmupMs: 0, durationMs: 60_000 });
  assert.equal(result.errors, 0, JSON.stringify(result.errorTexts));
  assert.deepEqual([...seen.users].sort(), [...coldUsers].sort());
  assert.equal(result.messages, 7);
  assert.equal(result.accepted, 7);
  assert.ok(result.seconds < 30, `the window ran on after the work: ${result.seconds} s`);
});

test("pooled with cold users: session i logs in and sends as user i", async () => {
  reset();
  const coldUsers = ["u1@example.com", "u2@example.com", "u3@example.com"];
  const result = await pooled(options({ coldUsers, sessions: 3 }), { warmupMs: 0, durationMs: 300 });
  assert.equal(result.errors, 0, JSON.stringify(result.errorTexts));
  assert.deepEqual([...seen.users].sort(), coldUsers);
});

test("sessions are spread over several targets", async () => {
  reset();
  const targets = [
    { host: "127.0.0.1", port },
    { host: "127.0.0.2", port: 1 }, // nothing listens: half the sessions fail to connect
  ];
  const result = await pooled(options({ targets, sessions: 2 }), { warmupMs: 0, durationMs: 300 });
  assert.equal(seen.connections, 1);
  assert.ok(result.errors > 0);
});

test("a refused message is an error with the server's reply, not a message", async () => {
  reset();
  const result = await pooled(options({ to: "refused@example.net", sessions: 1 }), {
    warmupMs: 0,
    durationMs: 400,
  });
  assert.equal(result.messages, 0);
  assert.ok(result.errors > 0);
  assert.match(result.errorTexts[0]?.text ?? "", /^550 5\.7\.1 Refused by policy/);
});

test("refused credentials are errors with the 535 reply", async () => {
  reset();
  const credentials = { user: "alice@example.com", pass: "wrong" };
  const result = await perMessage(options({ credentials, sessions: 1 }), { warmupMs: 0, durationMs: 300 });
  assert.equal(result.messages, 0);
  assert.ok(result.errors > 0);
  assert.match(result.errorTexts[0]?.text ?? "", /^535 5\.7\.8/);
});

test("idle: the sessions are authenticated and stay open until closed", async () => {
  reset();
  const sessions = await idle(options({ sessions: 5 }), 2);
  assert.deepEqual(
    { authenticated: sessions.result.authenticated, errors: sessions.result.errors },
    { authenticated: 5, errors: 0 },
  );
  assert.equal(seen.auths, 5);
  assert.equal(seen.open, 5);
  sessions.close();
  for (let i = 0; i < 100 && seen.open > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.open, 0);
});

test("the CLI prints its figures as one JSON line, and refuses to run without LOADGEN_PASS", async () => {
  const cli = join(import.meta.dirname, "load-generator.ts");
  const args = [cli, "--mode", "pooled", "--target", `127.0.0.1:${port}`, "--sessions", "1"];
  args.push("--warmup", "0", "--duration", "0.3");
  const run = (env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    return once(child, "exit").then(([code]) => ({ code, stdout }));
  };
  const ok = await run({ LOADGEN_PASS: "secret" });
  assert.equal(ok.code, 0);
  const figures = JSON.parse(ok.stdout);
  assert.equal(figures.mode, "pooled");
  assert.ok(figures.messages > 0 && figures.errors === 0);
  assert.equal(typeof figures.loadGeneratorCpuPercent, "number");
  const refused = await run({ LOADGEN_PASS: "" });
  assert.equal(refused.code, 64);
});
