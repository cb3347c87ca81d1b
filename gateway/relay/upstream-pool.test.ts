// The pool behind the Upstream contract, driven directly against a real SMTP server (the
// smtp-server package, which shows what arrived: credentials, connections, messages). End-to-end
// behaviour through a running gateway is in upstream-faults.test.ts and upstream-postfix.test.ts.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { UpstreamSchema } from "../config/schema.ts";
import { startSmtpServerUpstream } from "../testing/smtp-server-upstream.ts";
import type { UpstreamTransaction } from "./upstream-api.ts";
import { createUpstream } from "./upstream-pool.ts";

async function secretsDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "postern-upstream-pool-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const config = (port: number, extra: Record<string, unknown> = {}) =>
  UpstreamSchema.parse({ host: "127.0.0.1", port, tls: "none", ...extra });

async function begun(upstream: ReturnType<typeof createUpstream>): Promise<UpstreamTransaction> {
  const result = await upstream.begin("alice@example.test", { owner: "alice" });
  assert.ok(result.ok, JSON.stringify(result));
  return result.tx;
}

describe("createUpstream", () => {
  it("reads the credential files whenever it opens a connection: a refreshed XOAUTH2 token needs no restart", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const dir = await secretsDir(t);
    await writeFile(join(dir, "username"), "relay@gateway.test\n");
    await writeFile(join(dir, "token"), "token-one\n");
    const auth = { mechanism: "XOAUTH2", usernameFile: "username", tokenFile: "token" };
    const upstream = createUpstream(config(server.port, { auth }), "gateway.test", (p) => join(dir, p));
    t.after(() => upstream.close());

    const first = await begun(upstream); // holds the first connection
    await writeFile(join(dir, "token"), "token-two\n"); // the sidecar refreshed the token
    const second = await begun(upstream); // needs a second connection
    first.abort();
    second.abort();
    assert.deepEqual(
      server.auths.map((a) => [a.method, a.username, a.accessToken]),
      [
        ["XOAUTH2", "relay@gateway.test", "token-one"],
        ["XOAUTH2", "relay@gateway.test", "token-two"],
      ],
    );
  });

  it("a missing credentials file is an AUTH failure: 451 4.7.0, naming the file but no secret", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const dir = await secretsDir(t);
    await writeFile(join(dir, "password"), "secret-value");
    const auth = { usernameFile: "absent", passwordFile: "password" };
    const upstream = createUpstream(config(server.port, { auth }), "gateway.test", (p) => join(dir, p));
    t.after(() => upstream.close());
    const result = await upstream.begin("alice@example.test", { owner: "alice" });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual([result.reply.code, result.reply.enhanced], [451, "4.7.0"]);
    assert.match(result.detail ?? "", /absent/);
    assert.doesNotMatch(result.detail ?? "", /secret-value/);
    assert.equal(server.connections.opened, 0, "no connection without credentials");
  });

  it("refuses at creation to send credentials in plaintext to a host that is not loopback", () => {
    const auth = { usernameFile: "u", passwordFile: "p" };
    assert.throws(() => createUpstream(config(25, { host: "smtp.example.com", auth }), "gateway.test"), {
      message: /upstream\.auth needs upstream\.tls/,
    });
    assert.doesNotThrow(() =>
      createUpstream(config(25, { host: "smtp.example.com", tls: "starttls", auth }), "gw"),
    );
  });

  it("reuses an idle connection for the next transaction, with a clean state after abort()", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const upstream = createUpstream(config(server.port), "gateway.test");
    t.after(() => upstream.close());
    const tx = await begun(upstream);
    assert.equal((await tx.rcpt("bob@example.net")).ok, true);
    tx.abort(); // RSET upstream, then back to the pool
    await sleep(50);
    const next = await begun(upstream);
    assert.equal((await next.rcpt("carol@example.net")).ok, true);
    const sent = await next.data([Buffer.from("Subject: pooled\r\n\r\nbody\r\n")]);
    assert.equal(sent.ok, true);
    assert.equal(server.connections.opened, 1);
    assert.equal(server.messages.length, 1);
    assert.match(server.messages[0]?.toString() ?? "", /Subject: pooled/);
  });

  it("a transaction is over after data(): further commands fail without reaching the upstream", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const upstream = createUpstream(config(server.port), "gateway.test");
    t.after(() => upstream.close());
    const tx = await begun(upstream);
    await tx.rcpt("bob@example.net");
    assert.equal((await tx.data([Buffer.from("Subject: once\r\n\r\nx\r\n")])).ok, true);
    const again = await tx.data([Buffer.from("Subject: twice\r\n\r\nx\r\n")]);
    assert.equal(again.ok, false);
    assert.equal(server.messages.length, 1, "nothing is sent twice");
  });

  it("close() closes idle connections at once and a busy one when its transaction ends", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const upstream = createUpstream(config(server.port), "gateway.test");
    const idle = await begun(upstream);
    const busy = await begun(upstream);
    idle.abort();
    await sleep(50);
    let closed = false;
    const closing = upstream.close().then(() => {
      closed = true;
    });
    await sleep(100);
    assert.equal(server.connections.closed, 1, "the idle connection was closed");
    assert.equal(closed, false, "close() waits for the busy one");
    assert.equal((await busy.rcpt("bob@example.net")).ok, true, "the transaction under way goes on");
    assert.equal((await busy.data([Buffer.from("Subject: last\r\n\r\nx\r\n")])).ok, true);
    await closing;
    await sleep(100);
    assert.equal(server.connections.closed, 2);
    assert.equal(
      (await upstream.begin("alice@example.test", { owner: "alice" })).ok,
      false,
      "a closed upstream starts nothing",
    );
  });

  it("one user holds at most its share of the pool; a freed connection goes to a waiting user under it", async (t) => {
    const server = await startSmtpServerUpstream(t);
    const upstream = createUpstream(
      config(server.port, { pool: 4, perUserShare: 0.5, connectionTimeoutSeconds: 0.5 }),
      "gateway.test",
    );
    t.after(() => upstream.close());
    const begin = (owner: string) => upstream.begin(`${owner}@example.test`, { owner });
    const held = [await begin("alice"), await begin("alice")];
    assert.ok(held.every((r) => r.ok));
    // Alice is at her share with two of four connections free: her third transaction waits, and
    // gives up at the connection timeout with the share named in the log detail.
    const third = await begin("alice");
    assert.equal(third.ok, false);
    assert.match(third.ok ? "" : (third.detail ?? ""), /held its share of 2 upstream connections/);
    // Bob is not held back by Alice.
    const bob = [await begin("bob"), await begin("bob")];
    assert.ok(bob.every((r) => r.ok));
    // Pool full: Alice's next waits; Carol's waits too, and gets the first connection freed while
    // Alice is still at her share.
    const alice = begin("alice");
    const carol = begin("carol");
    await sleep(50);
    const [first] = bob;
    if (first?.ok) first.tx.abort();
    const carolGot = await carol;
    assert.equal(carolGot.ok, true, "the freed connection went to the user under her share");
    assert.equal((await alice).ok, false);
    for (const r of [...held, ...bob.slice(1), carolGot]) if (r.ok) r.tx.abort();
  });
});
