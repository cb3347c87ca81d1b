// The CrowdSec configuration docs/logging.md documents, run in the real CrowdSec engine over a real
// gateway's log: the parser extracts the client and user name from exactly the failed logins it should
// count (never an address a client wrote into its user name), and the scenario's bucket overflows into
// an alert and a ban decision at the capacity + 1st failure, not at the capacity-th.
//
// The engine is Debian bookworm's crowdsec package, unpacked (not installed) by
// hack/tools/crowdsec/crowdsec.sh; the acquisition labels, parser and scenario come from the page
// itself, the first stages, enrichers and profile are the stock ones the package ships. The log is
// replayed (`crowdsec -dsn`) into a local API of its own, as docs/logging.md says to check a log.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, open, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { parse, stringify } from "yaml";
import { criLog, documented, LOGGING_DOCS } from "../testing/log-filters.ts";
import { freePort, waitForPort } from "../testing/ports.ts";
import { authPlain, RawSmtp } from "../testing/raw-smtp.ts";
import { run } from "../testing/run.ts";
import { ALICE, NO_LOCKOUTS, startLoggedGateway } from "../testing/test-gateway.ts";

const CROWDSEC_SH = new URL("../../hack/tools/crowdsec/crowdsec.sh", import.meta.url).pathname;
/** The reasons the documented parser counts: the client's doing, not `cancelled` or `unavailable`. */
const COUNTED = ["invalid", "malformed", "too-long", "throttled"];

/** The unpacked package's file tree (downloaded on first use, then cached per machine). */
async function crowdsecRoot(): Promise<string> {
  const result = await run("bash", [CROWDSEC_SH], { timeoutMs: 5 * 60_000 });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

interface Engine {
  crowdsec: (args: string[]) => Promise<void>;
  cscli: (args: string[]) => Promise<string>;
}

/**
 * A CrowdSec configuration in `dir` with the documented parser and scenario, the package's stock
 * parsers and profile linked in as its Debian install links them, and a local API on loopback that
 * stops with the test.
 */
async function startCrowdsec(t: TestContext, dir: string, docs: string): Promise<Engine> {
  const root = await crowdsecRoot();
  const hub = join(root, "usr/share/crowdsec/hub");
  const etc = join(dir, "etc");
  const port = await freePort();
  const files: Record<string, string> = {
    "parsers/s00-raw/cri-logs.yaml": join(hub, "parsers/s00-raw/crowdsecurity/cri-logs.yaml"),
    // Holds crowdsecurity/non-syslog too: every stock first stage that could take these lines.
    "parsers/s00-raw/syslog-logs.yaml": join(hub, "parsers/s00-raw/crowdsecurity/syslog-logs.yaml"),
    "parsers/s02-enrich/dateparse-enrich.yaml": join(
      hub,
      "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml",
    ),
    "parsers/s02-enrich/whitelists.yaml": join(hub, "parsers/s02-enrich/crowdsecurity/whitelists.yaml"),
    patterns: join(root, "etc/crowdsec/patterns"),
    "profiles.yaml": join(root, "etc/crowdsec/profiles.yaml"),
    "simulation.yaml": join(root, "etc/crowdsec/simulation.yaml"),
  };
  for (const [name, target] of Object.entries(files)) {
    await mkdir(join(etc, name, ".."), { recursive: true });
    await symlink(target, join(etc, name));
  }
  await mkdir(join(etc, "parsers/s01-parse"), { recursive: true });
  await mkdir(join(etc, "scenarios"), { recursive: true });
  await writeFile(
    join(etc, "parsers/s01-parse/postern-logs.yaml"),
    documented(docs, "/etc/crowdsec/parsers/s01-parse/postern-logs.yaml"),
  );
  await writeFile(
    join(etc, "scenarios/postern-bf.yaml"),
    documented(docs, "/etc/crowdsec/scenarios/postern-bf.yaml"),
  );
  await mkdir(join(dir, "data"));
  const config = join(etc, "config.yaml");
  await writeFile(
    config,
    stringify({
      common: { daemonize: false, log_media: "stdout", log_level: "info" },
      config_paths: {
        config_dir: etc,
        data_dir: join(dir, "data"),
        simulation_path: join(etc, "simulation.yaml"),
        hub_dir: hub,
        index_path: join(hub, ".index.json"),
      },
      // Without this section there is no agent to replay with.
      crowdsec_service: { parser_routines: 1 },
      // No online_client: nothing talks to CrowdSec's central API.
      api: {
        client: { credentials_path: join(etc, "local_api_credentials.yaml") },
        server: { listen_uri: `127.0.0.1:${port}`, profiles_path: join(etc, "profiles.yaml") },
      },
      db_config: { type: "sqlite", db_path: join(dir, "data/crowdsec.db"), use_wal: false },
      prometheus: { enabled: false },
    }),
  );
  const cscli = async (args: string[]) => {
    const result = await run(join(root, "usr/bin/cscli"), ["-c", config, ...args], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `cscli ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  const crowdsec = async (args: string[]) => {
    const result = await run(join(root, "usr/bin/crowdsec"), ["-c", config, ...args], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `crowdsec ${args.join(" ")}: ${result.stderr}${result.stdout}`);
  };
  // The replaying agent's machine account, written straight into the database.
  await cscli([
    "machines",
    "add",
    "postern-test",
    "--password",
    "postern-test-password",
    "--url",
    `http://127.0.0.1:${port}/`,
    "-f",
    join(etc, "local_api_credentials.yaml"),
  ]);
  const apiLog = await open(join(dir, "api.log"), "w");
  const api: ChildProcess = spawn(join(root, "usr/bin/crowdsec"), ["-c", config, "-no-cs"], {
    cwd: dir,
    stdio: ["ignore", apiLog.fd, apiLog.fd],
  });
  t.after(async () => {
    if (api.exitCode === null && api.signalCode === null) {
      api.kill("SIGTERM");
      await once(api, "exit");
    }
    await apiLog.close();
  });
  await waitForPort(port, 30_000).catch(async (error) => {
    throw new Error(`CrowdSec's local API did not start: ${await readFile(join(dir, "api.log"), "utf8")}`, {
      cause: error,
    });
  });
  return { crowdsec, cscli };
}

interface ParserResult {
  success: boolean;
  evt: { Line: { Raw: string }; Meta?: Record<string, string> };
}

test("the documented CrowdSec parser and scenario, in the real CrowdSec engine over a real gateway's log", async (t) => {
  const docs = await readFile(LOGGING_DOCS, "utf8");
  const acquisition = parse(documented(docs, "/etc/crowdsec/acquis.d/postern.yaml")) as {
    labels: Record<string, string>;
  };
  const { type, ...labels } = acquisition.labels;
  assert.ok(type, "the acquisition has a type label");
  const capacity = (
    parse(documented(docs, "/etc/crowdsec/scenarios/postern-bf.yaml")) as { capacity: number }
  ).capacity;

  // No slowing down, so the guesses take seconds (well inside the scenario's leak of one a minute);
  // two failures per connection, so the log also holds a lockout line for each guessing address.
  const {
    gw,
    dir,
    file: log,
  } = await startLoggedGateway(t, {
    auth: { bruteForce: { ...NO_LOCKOUTS, maxFailuresPerConnection: 2 } },
  });
  /** Failed logins with these names, two per connection, the addresses' connections taking turns. */
  const guess = async (guessers: Record<string, string[]>) => {
    for (let i = 0; Object.values(guessers).some((names) => i < names.length); i += 2) {
      for (const [from, usernames] of Object.entries(guessers)) {
        if (i >= usernames.length) continue;
        const c = await RawSmtp.session(gw.ports.submissions, { tls: "implicit", localAddress: from });
        for (const username of usernames.slice(i, i + 2)) {
          assert.match((await c.command(`AUTH PLAIN ${authPlain(username, "wrong")}`)).last, /^(535|421)/);
        }
        c.close();
      }
    }
  };
  const ok = await RawSmtp.authenticated(gw.ports.submissions, ALICE, {
    tls: "implicit",
    localAddress: "127.0.0.1",
  });
  ok.close();
  // Interleaved, so a bucket counting anything but the address would overflow early, or for 127.0.0.3.
  await guess({
    // The attacker: one failure more than the bucket holds.
    "127.0.0.2": Array(capacity + 1).fill(ALICE.username),
    // Exactly as many as it holds, the same user, and one name that spells out another client.
    "127.0.0.3": [...Array(capacity - 1).fill(ALICE.username), 'x","client":"9.9.9.9'],
  });
  // More than it holds, but cancelled exchanges: the client gave up, nothing to ban for.
  const cancelling = await RawSmtp.session(gw.ports.submissions, {
    tls: "implicit",
    localAddress: "127.0.0.4",
  });
  for (let i = 0; i <= capacity; i++) {
    assert.match((await cancelling.command("AUTH LOGIN")).last, /^334/);
    assert.match((await cancelling.command("*")).last, /^501/);
  }
  cancelling.close();

  // As the container runtime writes the gateway's standard output to /var/log/containers (the CRI
  // format: timestamp, stream, full-line tag), stamped with each line's own `time`.
  const text = await readFile(log, "utf8");
  const lines = text.split("\n").filter((line) => line !== "");
  const criLogFile = join(dir, "gateway.cri.log");
  await writeFile(criLogFile, criLog(text));
  const json = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const counted = json.filter((j) => j.event === "auth_failure" && COUNTED.includes(String(j.reason)));
  const countedFrom = (client: string) => counted.filter((j) => j.client === client).length;
  assert.deepEqual(
    [countedFrom("127.0.0.2"), countedFrom("127.0.0.3"), countedFrom("127.0.0.4")],
    [capacity + 1, capacity, 0],
  );
  assert.ok(
    json.some((j) => j.event === "auth_lockout" && j.client === "127.0.0.3"),
    "a lockout line",
  );
  assert.equal(
    json.filter((j) => j.event === "auth_failure" && j.client === "127.0.0.4").length,
    capacity + 1,
  );

  const engine = await startCrowdsec(t, dir, docs);
  const replay = ["-dsn", `file://${criLogFile}`, "-type", type, "-no-api"];
  for (const [key, value] of Object.entries(labels)) replay.push("-label", `${key}:${value}`);

  // What each stage made of each line, as `cscli explain` shows it.
  const dump = join(dir, "dump");
  await mkdir(dump);
  await engine.crowdsec([...replay, "-dump-data", dump]);
  const stages = parse(await readFile(join(dump, "parser-dump.yaml"), "utf8")) as Record<
    string,
    Record<string, ParserResult[]>
  >;
  const parsed = stages["s01-parse"]?.["postern/postern-logs"] ?? [];
  const seen = parsed
    .map(({ success, evt }) => [
      evt.Line.Raw.slice(evt.Line.Raw.indexOf("{")),
      success,
      success ? [evt.Meta?.log_type, evt.Meta?.source_ip, evt.Meta?.username] : null,
    ])
    .sort();
  const wanted = lines
    .map((line, i) => {
      const j = json[i] as Record<string, unknown>;
      const isCounted = counted.includes(j);
      return [line, isCounted, isCounted ? ["smtp_auth_failed", j.client, j.username] : null];
    })
    .sort();
  assert.deepEqual(seen, wanted, "every line reaches the parser; it takes exactly the counted failures");

  // The replay again, its alerts now pushed to the local API, which applies the default profile.
  await engine.crowdsec(replay);
  const alerts = JSON.parse(await engine.cscli(["alerts", "list", "-o", "json"])) as {
    scenario: string;
    events_count: number;
    source: { ip: string };
    decisions: { type: string; scope: string; value: string; duration: string }[];
    events: { meta: { key: string; value: string }[] }[];
  }[];
  assert.deepEqual(
    alerts.map((a) => [a.scenario, a.source.ip, a.events_count]),
    [["postern/postern-bf", "127.0.0.2", capacity + 1]],
    "one alert: the address past the capacity, at its capacity + 1st failure",
  );
  const [alert] = alerts;
  for (const event of alert?.events ?? []) {
    const meta = Object.fromEntries(event.meta.map(({ key, value }) => [key, value]));
    assert.deepEqual([meta.source_ip, meta.username], ["127.0.0.2", ALICE.username]);
  }
  const decisions = JSON.parse(await engine.cscli(["decisions", "list", "-o", "json"])) as typeof alerts;
  assert.deepEqual(
    decisions.flatMap((a) => a.decisions.map((d) => [d.type, d.scope, d.value])),
    [["ban", "Ip", "127.0.0.2"]],
  );
  assert.match(alert?.decisions[0]?.duration ?? "", /^(3h59m|4h0m)/, "the default profile's 4 h");
});
