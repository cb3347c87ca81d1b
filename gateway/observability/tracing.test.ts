// Traces leave the gateway over OTLP/HTTP (the real protocol, JSON encoding) when OTEL_* asks for
// it, and not at all otherwise. The receiver is a plain HTTP server recording what is posted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { test } from "node:test";
import { freePort, waitForPort } from "../testing/ports.ts";
import { RawSmtp } from "../testing/raw-smtp.ts";
import { testMessage } from "../testing/run.ts";
import { ALICE, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { tracingRequested } from "./tracing.ts";

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

async function otlpReceiver() {
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      paths.push(req.url ?? "");
      const json = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of json.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const port = await freePort();
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return { port, spans, paths, close: () => server.close() };
}

async function runGateway(gw: TestGateway, env: Record<string, string>, session: () => Promise<void>) {
  const child = spawn(process.execPath, ["gateway/cli/postern-gateway.ts", "--config", gw.dir], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitForPort(gw.ports.submissions);
  await session();
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0);
}

/** Logs in, optionally sends one message, and quits. */
async function clientSession(gw: TestGateway, options: { send?: boolean } = {}) {
  const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
  if (options.send) {
    const message = testMessage(ALICE.username, "bob@example.net");
    assert.equal((await c.command(`MAIL FROM:<${ALICE.username}>`)).code, 250);
    assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
    assert.equal((await c.command("DATA")).code, 354);
    assert.equal((await c.command(`${message.text}.`)).code, 250);
  }
  await c.command("QUIT");
  await c.waitClosed();
}

const attr = (s: OtlpSpan, key: string) => s.attributes.find((a) => a.key === key)?.value;

test("tracing is requested only by the standard OTEL_* variables", () => {
  assert.equal(tracingRequested({}), false);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x" }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x" }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" }), true);
  assert.equal(
    tracingRequested({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x" }),
    false,
  );
  assert.equal(tracingRequested({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" }), false);
});

test("session and AUTH spans are exported over OTLP/HTTP, AUTH as the session's child", async (t) => {
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const gw = await startTestGateway(t, { noStart: true });
  await runGateway(gw, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}` }, () =>
    clientSession(gw),
  );
  assert.ok(
    receiver.paths.every((p) => p === "/v1/traces"),
    receiver.paths.join(","),
  );
  const session = receiver.spans.find((s) => s.name === "smtp.session");
  const auth = receiver.spans.find((s) => s.name === "smtp.auth");
  assert.ok(session && auth, `spans: ${receiver.spans.map((s) => s.name).join(",")}`);
  assert.equal(auth.parentSpanId, session.spanId);
  assert.equal(auth.traceId, session.traceId);
  assert.deepEqual(attr(auth, "sasl.mechanism"), { stringValue: "PLAIN" });
  assert.deepEqual(attr(session, "network.peer.address"), { stringValue: "127.0.0.1" });
});

test("a relayed message gets an smtp.relay span, the session's child, with smtp.reply.code 250", async (t) => {
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const gw = await startTestGateway(t, { noStart: true });
  await runGateway(gw, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}` }, () =>
    clientSession(gw, { send: true }),
  );
  const session = receiver.spans.find((s) => s.name === "smtp.session");
  const relay = receiver.spans.find((s) => s.name === "smtp.relay");
  assert.ok(session && relay, `spans: ${receiver.spans.map((s) => s.name).join(",")}`);
  assert.equal(relay.parentSpanId, session.spanId);
  assert.equal(relay.traceId, session.traceId);
  assert.deepEqual(attr(relay, "smtp.reply.code"), { intValue: 250 });
  assert.deepEqual(attr(relay, "smtp.recipients"), { intValue: 1 });
});

test("without OTEL_* variables nothing is exported", async (t) => {
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const gw = await startTestGateway(t, { noStart: true });
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "",
    OTEL_TRACES_EXPORTER: "",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "",
  };
  await runGateway(gw, env, () => clientSession(gw));
  assert.equal(receiver.spans.length, 0);
});
