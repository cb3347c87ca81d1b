// PROXY protocol: the decoder on its own, and a running gateway behind a real HAProxy (Debian's),
// which sends version 1 to one listener and version 2 to the other, with swaks as the client coming
// from another loopback address than HAProxy's own.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import pino from "pino";
import { freePort, waitForPort } from "../testing/ports.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { run, testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { ProxyHeaderError, parseProxyHeader } from "./proxy-protocol.ts";

const v2Header = (family: number, command: number, body: Buffer) =>
  Buffer.concat([
    Buffer.from("0d0a0d0a000d0a515549540a", "hex"),
    Buffer.from([0x20 | command, family]),
    Buffer.from([body.length >> 8, body.length & 0xff]),
    body,
  ]);

describe("parseProxyHeader", () => {
  it("reads version 1 lines: TCP4, TCP6 and UNKNOWN", () => {
    const line = (text: string) => parseProxyHeader(Buffer.from(`${text}\r\nEHLO x\r\n`));
    assert.deepEqual(line("PROXY TCP4 192.0.2.7 10.0.0.1 40000 587"), {
      complete: true,
      length: 41,
      peer: { address: "192.0.2.7", port: 40000 },
    });
    assert.deepEqual(line("PROXY TCP6 2001:db8::7 2001:db8::1 40000 587"), {
      complete: true,
      length: 46,
      peer: { address: "2001:db8::7", port: 40000 },
    });
    assert.deepEqual(line("PROXY UNKNOWN"), { complete: true, length: 15, peer: undefined });
  });

  it("reads version 2 headers: IPv4, IPv6 with TLVs after the addresses, and LOCAL", () => {
    const ipv4 = Buffer.from([192, 0, 2, 7, 10, 0, 0, 1, 0x9c, 0x40, 0x02, 0x4b]);
    assert.deepEqual(parseProxyHeader(v2Header(0x11, 1, ipv4)), {
      complete: true,
      length: 28,
      peer: { address: "192.0.2.7", port: 40000 },
    });
    const ipv6 = Buffer.alloc(36 + 5);
    Buffer.from("20010db8000000000000000000000007", "hex").copy(ipv6, 0);
    ipv6.writeUInt16BE(40000, 32);
    assert.deepEqual(parseProxyHeader(v2Header(0x21, 1, ipv6)), {
      complete: true,
      length: 16 + 41,
      peer: { address: "2001:db8::7", port: 40000 },
    });
    assert.deepEqual(parseProxyHeader(v2Header(0x00, 0, Buffer.alloc(0))), {
      complete: true,
      length: 16,
      peer: undefined,
    });
  });

  it("waits for a header cut short, and refuses anything that is no header", () => {
    assert.deepEqual(parseProxyHeader(Buffer.from("PROXY TCP4 192.0.2.7")), { complete: false });
    assert.deepEqual(parseProxyHeader(v2Header(0x11, 1, Buffer.alloc(12)).subarray(0, 20)), {
      complete: false,
    });
    for (const bad of [
      "EHLO client\r\n",
      "PROXY TCP4 not-an-ip 10.0.0.1 1 2\r\n",
      `PROXY ${"x".repeat(120)}`,
    ]) {
      assert.throws(() => parseProxyHeader(Buffer.from(bad)), ProxyHeaderError, bad);
    }
  });
});

/** HAProxy in TCP mode: one port per PROXY version, each in front of one of the gateway's listeners. */
async function startHaproxy(t: TestContext, gw: TestGateway) {
  const ports = { v1: await freePort(), v2: await freePort() };
  const config = join(gw.dir, "haproxy.cfg");
  await writeFile(
    config,
    [
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 30s",
      "  timeout server 30s",
      "listen v1",
      `  bind 127.0.0.1:${ports.v1}`,
      `  server gateway 127.0.0.1:${gw.ports.submission} send-proxy`,
      "listen v2",
      `  bind 127.0.0.1:${ports.v2}`,
      `  server gateway 127.0.0.1:${gw.ports.submissions} send-proxy-v2`,
      "",
    ].join("\n"),
  );
  const haproxy: ChildProcess = spawn("haproxy", ["-db", "-f", config], { stdio: "ignore" });
  t.after(async () => {
    haproxy.kill();
    await once(haproxy, "exit");
  });
  await waitForPort(ports.v1);
  await waitForPort(ports.v2);
  return ports;
}

const CLIENT = "127.0.0.3";

/** A gateway whose listeners trust 127.0.0.1 (HAProxy) to send PROXY headers, and HAProxy. Alice may
 *  log in only from the real client's address, which the gateway sees only through the header. */
async function behindHaproxy(t: TestContext) {
  const lines: Record<string, unknown>[] = [];
  const gw = await startTestGateway(t, {
    users: [{ ...ALICE, allowedCidrs: [`${CLIENT}/32`] }],
    proxyProtocol: { trustedCidrs: ["127.0.0.1/32"] },
    logger: pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
  return { gw, lines, haproxy: await startHaproxy(t, gw) };
}

describe("behind HAProxy", () => {
  for (const [version, tls] of [
    ["v1", ["--tls"]],
    ["v2", ["--tls-on-connect"]],
  ] as const) {
    it(`PROXY ${version}: the header's client is the one allowedCidrs, the Received header and the log see`, async (t) => {
      const { gw, lines, haproxy } = await behindHaproxy(t);
      const message = testMessage(ALICE.username, "bob@example.net");
      const swaks = await run("swaks", [
        "--server",
        "127.0.0.1",
        "--port",
        String(haproxy[version]),
        "--local-interface",
        CLIENT,
        ...tls,
        "--auth",
        "PLAIN",
        "--auth-user",
        ALICE.username,
        "--auth-password",
        ALICE.password,
        "--from",
        ALICE.username,
        "--to",
        "bob@example.net",
        "--data",
        message.text,
      ]);
      assert.equal(swaks.code, 0, swaks.stdout + swaks.stderr);
      const copy = (await gw.sink.messages()).find((m) => m.includes(message.token)) ?? "";
      assert.match(
        copy,
        new RegExp(`^Received: from \\S+ \\(\\[${CLIENT.replaceAll(".", "\\.")}\\]\\)`, "m"),
      );
      const logged = lines.filter((l) => l.event === "message" && l.result === "relayed").at(-1);
      assert.equal(logged?.client, CLIENT);
    });
  }

  it("a peer outside the trusted networks is its own client: a PROXY line from it is not believed", async (t) => {
    const { gw } = await behindHaproxy(t);
    const c = await RawSmtp.connect(gw.ports.submission, { localAddress: "127.0.0.4" });
    assert.match((await c.read()).last, /^220 /, "greeted at once, no header expected");
    const forged = await c.command(`PROXY TCP4 ${CLIENT} 127.0.0.1 40000 587`);
    assert.ok(forged.code >= 500, forged.last);
    c.close();
    // Alice's login from 127.0.0.4 fails: the forged header did not make it 127.0.0.3.
    const direct = await run("swaks", [
      "--server",
      "127.0.0.1",
      "--port",
      String(gw.ports.submission),
      "--local-interface",
      "127.0.0.4",
      "--tls",
      "--auth",
      "PLAIN",
      "--auth-user",
      ALICE.username,
      "--auth-password",
      ALICE.password,
      "--quit-after",
      "AUTH",
    ]);
    assert.notEqual(direct.code, 0, direct.stdout);
  });

  it("a trusted peer that starts without a header is dropped before any greeting", async (t) => {
    const { gw } = await behindHaproxy(t);
    const c = await RawSmtp.connect(gw.ports.submission, { localAddress: "127.0.0.1" });
    c.write("EHLO client.example\r\n");
    await c.waitClosed();
    await assert.rejects(c.read(500));
  });
});
