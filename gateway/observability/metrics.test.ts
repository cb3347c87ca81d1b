// The metrics a running gateway exposes after real traffic, read over its HTTP port the way
// Prometheus scrapes them, and linted with Prometheus' own promtool.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { ALICE, startTestGateway } from "../testing/test-gateway.ts";
import { AUTH_RESULTS } from "./metrics.ts";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("metrics, health and readiness over HTTP after real traffic", async (t) => {
  const gw = await startTestGateway(t);
  const base = `http://127.0.0.1:${gw.ports.http}`;
  assert.equal((await fetch(`${base}/livez`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await fetch(`${base}/nope`)).status, 404);

  const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit" });
  assert.equal((await c.command(`AUTH PLAIN ${authPlain(ALICE.username, "wrong")}`)).code, 535);
  assert.equal((await c.command(`AUTH PLAIN ${authPlain(ALICE.username, ALICE.password)}`)).code, 235);
  await c.command(`MAIL FROM:<${ALICE.username}>`);
  await c.command("RCPT TO:<bob@example.net>");
  await c.command("DATA");
  assert.equal((await c.command(`From: ${ALICE.username}\r\n\r\nhello\r\n.`)).code, 250);
  assert.equal((await c.command("MAIL FROM:<ceo@elsewhere.example>")).code, 553);
  await c.command("QUIT");
  await c.waitClosed();

  const response = await fetch(`${base}/metrics`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  const text = await response.text();
  const expect: Record<string, number> = {
    'postern_auth_attempts_total{mechanism="PLAIN",result="failure"}': 1,
    'postern_auth_attempts_total{mechanism="PLAIN",result="success"}': 1,
    'postern_messages_total{result="accepted",reason="relayed"}': 1,
    'postern_relay_total{result="accepted",code_class="2xx"}': 1,
    'postern_policy_rejections_total{reason="sender_not_owned"}': 1,
    'postern_smtp_connections_total{listener="submissions"}': 1,
    'postern_smtp_connections_active{listener="submissions"}': 0,
    postern_relay_duration_seconds_count: 1,
    postern_message_size_bytes_count: 1,
    postern_users_loaded: 1,
  };
  for (const [series, value] of Object.entries(expect)) assert.equal(sample(text, series), value, series);
  assert.doesNotMatch(text, /postern_user_messages_total\{/, "per-user series only when opted in");
  const expiry = sample(text, "postern_tls_certificate_expiry_timestamp_seconds") ?? 0;
  assert.ok(expiry > Date.now() / 1000, "certificate expiry is in the future");
  assert.ok(
    (sample(text, 'postern_config_last_reload_success_timestamp_seconds{kind="credentials"}') ?? 0) > 0,
  );

  const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(lint.status, 0, `promtool: ${lint.stdout}${lint.stderr}`);
});

test("per-user message counts are opt-in and follow the users file", async (t) => {
  const bob = { username: "bob@example.test", password: "bob-secret" };
  const gw = await startTestGateway(t, { users: [ALICE, bob], config: { http: { perUserMetrics: true } } });
  const scrape = async () => (await fetch(`http://127.0.0.1:${gw.ports.http}/metrics`)).text();
  const c = await RawSmtp.authenticated(gw.ports.submissions, ALICE);
  await c.command(`MAIL FROM:<${ALICE.username}>`);
  await c.command("RCPT TO:<bob@example.net>");
  await c.command("DATA");
  assert.equal((await c.command(`From: ${ALICE.username}\r\n\r\nhello\r\n.`)).code, 250);
  c.close();
  const series = 'postern_user_messages_total{user="alice@example.test",result="accepted"}';
  assert.equal(sample(await scrape(), series), 1);

  // Alice leaves the users file: her series goes with her, so the label set stays bounded.
  await gw.swapVolume("credentials", { "users.yaml": await gw.usersYaml([bob]) });
  await gw.gateway?.reload();
  assert.equal(sample(await scrape(), series), undefined);
});

test("bounded label sets are exposed at 0 before the first event, so rate() has series to work on", async (t) => {
  const gw = await startTestGateway(t);
  const text = await (await fetch(`http://127.0.0.1:${gw.ports.http}/metrics`)).text();
  const zero = [
    ...["policy", "credentials", "tls"].flatMap((kind) =>
      ["success", "failure"].map(
        (result) => `postern_config_reloads_total{kind="${kind}",result="${result}"}`,
      ),
    ),
    'postern_relay_total{result="accepted",code_class="2xx"}',
    ...["4xx", "5xx", "network"].map((c) => `postern_relay_total{result="failed",code_class="${c}"}`),
    ...["address", "user", "connection"].map((scope) => `postern_auth_lockouts_total{scope="${scope}"}`),
    // The harness offers these three (gateway/testing/test-gateway.ts).
    ...["SCRAM-SHA-256", "PLAIN", "LOGIN"].flatMap((mechanism) =>
      AUTH_RESULTS.map(
        (result) => `postern_auth_attempts_total{mechanism="${mechanism}",result="${result}"}`,
      ),
    ),
  ];
  for (const series of zero) assert.equal(sample(text, series), 0, series);
  // Every kind loaded at start-up; the reload alert needs these series before the first reload.
  for (const kind of ["policy", "credentials", "tls"]) {
    assert.equal(sample(text, `postern_config_last_reload_successful{kind="${kind}"}`), 1, kind);
  }
  assert.doesNotMatch(text, /mechanism="XOAUTH2"/, "only the mechanisms the gateway offers");
});
