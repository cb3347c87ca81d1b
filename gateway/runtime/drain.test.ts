// Graceful shutdown against a running gateway and a real smtp-sink upstream, and the CLI as a pod
// runs it: a real SIGTERM, a clock on the exit, and the upstream's copies counted after the
// client's retry.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { waitForPort } from "../testing/ports.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { startSmtpServerUpstream } from "../testing/smtp-server-upstream.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { drainSchedule } from "./drain.ts";

const CLI = fileURLToPath(new URL("../cli/postern-gateway.ts", import.meta.url));

const authenticated = (gw: TestGateway) => RawSmtp.authenticated(gw.ports.submissions, ALICE);

const readyz = async (gw: TestGateway) => (await fetch(`http://127.0.0.1:${gw.ports.http}/readyz`)).status;

test("shutdown: not ready, new connections and idle sessions get 421 4.3.2, a transaction under way finishes", async (t) => {
  const gw = await startTestGateway(t);
  assert.equal(await readyz(gw), 200);
  const busy = await authenticated(gw);
  const idle = await authenticated(gw);
  assert.equal((await busy.command("MAIL FROM:<alice@example.test>")).code, 250);

  const stopped = gw.gateway?.shutdown(5000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await readyz(gw), 503);

  const late = await RawSmtp.connect(gw.ports.submissions, { tls: {} });
  assert.equal((await late.read()).last, "421 4.3.2 Service shutting down, try again later");
  assert.equal(
    (await idle.command("MAIL FROM:<alice@example.test>")).last,
    "421 4.3.2 Service shutting down, try again later",
  );

  assert.equal((await busy.command("RCPT TO:<bob@example.net>")).code, 250);
  assert.equal((await busy.command("DATA")).code, 354);
  assert.match((await busy.command("Subject: drained\r\n\r\nbody\r\n.")).last, /^250 2\.6\.0/);
  // The transaction is over: the next one is refused and the connection closed.
  assert.equal((await busy.command("MAIL FROM:<alice@example.test>")).code, 421);
  await stopped;
  const messages = await gw.sink.messages();
  assert.equal(messages.length, 1);
  assert.match(messages[0] ?? "", /Subject: drained/);
});

test("shutdown during a STARTTLS handshake: the handshake completes and the client hears 421 over TLS", {
  timeout: 15_000,
}, async (t) => {
  const gw = await startTestGateway(t);
  const c = await RawSmtp.connect(gw.ports.submission);
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.command("EHLO client.example")).code, 250);
  assert.equal((await c.command("STARTTLS")).code, 220);
  // The drain begins between the 220 and the client's ClientHello: a 421 written now would be
  // cleartext inside the handshake, and closing the socket would leave the client a bare TLS EOF.
  const stopped = gw.gateway?.shutdown(2000);
  await sleep(100);
  await c.upgrade();
  assert.equal(
    (await c.command("EHLO client.example")).last,
    "421 4.3.2 Service shutting down, try again later",
  );
  await c.waitClosed();
  await stopped;
});

test("SIGTERM during DATA: the client is told 4xx, its retry succeeds, the upstream holds one copy", async (t) => {
  const gw = await startTestGateway(t);
  const c = await authenticated(gw);
  await c.command("MAIL FROM:<alice@example.test>");
  await c.command("RCPT TO:<bob@example.net>");
  assert.equal((await c.command("DATA")).code, 354);
  c.write("Subject: interrupted\r\n\r\nfirst half of the body\r\n");

  await gw.gateway?.shutdown(300);
  assert.equal((await c.read()).last, "421 4.3.2 Service shutting down, try again later");
  await c.waitClosed();
  assert.equal(
    (await gw.sink.messages()).length,
    0,
    "a message the client was not told 250 for went upstream",
  );

  // The client's retry (here: against a replacement gateway, which relays to a sink of its own)
  // succeeds, and the two upstreams together hold exactly one copy.
  const replacement = await startTestGateway(t);
  const retry = await authenticated(replacement);
  await retry.command("MAIL FROM:<alice@example.test>");
  await retry.command("RCPT TO:<bob@example.net>");
  await retry.command("DATA");
  assert.match((await retry.command("Subject: interrupted\r\n\r\nwhole body\r\n.")).last, /^250/);
  retry.close();
  assert.equal((await gw.sink.messages()).length + (await replacement.sink.messages()).length, 1);
});

test("drainSchedule: replies get half the grace period (or the upstream's timeout), and the exit comes within it", () => {
  assert.deepEqual(drainSchedule(25_000, 60_000), { handOffMs: 12_250, exitMs: 24_500 });
  assert.deepEqual(drainSchedule(25_000, 5_000), { handOffMs: 19_500, exitMs: 24_500 });
  assert.deepEqual(drainSchedule(2_000, 60_000), { handOffMs: 900, exitMs: 1_800 });
});

/** The CLI on the test gateway's directory, as a pod runs it; resolves once it listens. */
async function startCli(t: TestContext, gw: TestGateway) {
  const child = spawn(process.execPath, [CLI, "--config", gw.dir], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  const exited = once(child, "exit");
  t.after(() => child.kill("SIGKILL"));
  await waitForPort(gw.ports.submissions);
  return {
    /** Sends SIGTERM; resolves with the milliseconds until the process was gone. */
    async terminate(): Promise<number> {
      const sent = Date.now();
      child.kill("SIGTERM");
      await exited;
      return Date.now() - sent;
    },
    output: () => output,
  };
}

async function inData(port: number): Promise<RawSmtp> {
  const c = await RawSmtp.authenticated(port, ALICE);
  assert.equal((await c.command("MAIL FROM:<alice@example.test>")).code, 250);
  assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
  assert.equal((await c.command("DATA")).code, 354);
  return c;
}

const GRACE_SECONDS = 2;
/** A process takes a moment to go once it called exit(). */
const EXIT_SLACK_MS = 300;

test("SIGTERM to the CLI mid-DATA: exit within shutdownGraceSeconds, 4xx to the client, one copy after its retry", async (t) => {
  const gw = await startTestGateway(t, {
    noStart: true,
    config: { limits: { shutdownGraceSeconds: GRACE_SECONDS } },
  });
  const cli = await startCli(t, gw);
  const c = await inData(gw.ports.submissions);
  c.write(
    "From: <alice@example.test>\r\nSubject: cut short\r\nX-Token: sigterm-mid-data\r\n\r\nfirst half\r\n",
  );
  await sleep(100); // the upstream has the first half: streaming
  const exitMs = cli.terminate();
  // The client never finishes: it is told 421 at the hand-off deadline.
  assert.equal((await c.read()).last, "421 4.3.2 Service shutting down, try again later");
  const elapsed = await exitMs;
  assert.ok(elapsed <= GRACE_SECONDS * 1000 + EXIT_SLACK_MS, `exit took ${elapsed} ms\n${cli.output()}`);
  assert.equal((await gw.sink.messages()).length, 0, "the upstream kept the half message");

  // The client retries against the replacement, which relays to the same upstream.
  const replacement = await startTestGateway(t, {
    config: { upstream: { host: "127.0.0.1", port: gw.sink.port, tls: "none" } },
  });
  const retry = await inData(replacement.ports.submissions);
  t.after(() => retry.close());
  retry.write(
    "From: <alice@example.test>\r\nSubject: cut short\r\nX-Token: sigterm-mid-data\r\n\r\nwhole\r\n.\r\n",
  );
  assert.match((await retry.read()).last, /^250 /);
  const copies = (await gw.sink.messages()).filter((m) => m.includes("X-Token: sigterm-mid-data"));
  assert.equal(copies.length, 1);
});

test("SIGTERM to the CLI while the upstream's reply is pending: the client gets that reply, one copy, exit in time", async (t) => {
  const upstream = await startSmtpServerUpstream(t, { replyDelayMs: 600 });
  const gw = await startTestGateway(t, {
    noStart: true,
    config: {
      upstream: { host: "127.0.0.1", port: upstream.port, tls: "none" },
      limits: { shutdownGraceSeconds: GRACE_SECONDS },
    },
  });
  const cli = await startCli(t, gw);
  const c = await inData(gw.ports.submissions);
  c.write("From: <alice@example.test>\r\nSubject: pending\r\n\r\nwhole message\r\n.\r\n");
  const deadline = Date.now() + 2000;
  while (upstream.dataBytes === 0 && Date.now() < deadline) await sleep(5);
  await sleep(50); // the end of data is upstream; its reply is held back
  const exitMs = cli.terminate();
  assert.match((await c.read()).last, /^250 2\.6\.0 /, "the upstream's acceptance reaches the client");
  const elapsed = await exitMs;
  assert.ok(elapsed <= GRACE_SECONDS * 1000 + EXIT_SLACK_MS, `exit took ${elapsed} ms\n${cli.output()}`);
  // A client told 250 does not retry: the upstream holds exactly one copy.
  assert.equal(upstream.messages.length, 1);
});

test("SIGTERM to the CLI with an upstream reply that outlasts the grace period: the exit still comes in time", async (t) => {
  const upstream = await startSmtpServerUpstream(t, { replyDelayMs: 20_000 });
  const gw = await startTestGateway(t, {
    noStart: true,
    config: {
      upstream: { host: "127.0.0.1", port: upstream.port, tls: "none" },
      limits: { shutdownGraceSeconds: GRACE_SECONDS },
    },
  });
  const cli = await startCli(t, gw);
  const c = await inData(gw.ports.submissions);
  c.write("From: <alice@example.test>\r\nSubject: slow upstream\r\n\r\nwhole message\r\n.\r\n");
  const deadline = Date.now() + 2000;
  while (upstream.dataBytes === 0 && Date.now() < deadline) await sleep(5);
  const elapsed = await cli.terminate();
  assert.ok(elapsed <= GRACE_SECONDS * 1000 + EXIT_SLACK_MS, `exit took ${elapsed} ms\n${cli.output()}`);
  // No 250 reached the client: it keeps the message and retries (the upstream may hold a copy it
  // never confirmed — RFC 1047's case, which only a reply within the grace period avoids).
  const reply = await c.read().catch(() => undefined);
  assert.ok(reply === undefined || reply.code === 421, reply?.last);
});
