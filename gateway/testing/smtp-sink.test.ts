// The upstream test double counts what the sink accepted, not a transaction still receiving DATA:
// smtp-sink has a file for one from MAIL FROM on, and flushes a long message into it as it arrives.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RawSmtp } from "./raw-smtp.ts";
import { startSmtpSink } from "./smtp-sink.ts";

test("messages() holds what the sink finished, not a transaction in the middle of its DATA", async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const c = await RawSmtp.connect(sink.port);
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.command("EHLO client.test")).code, 250);
  assert.equal((await c.command("MAIL FROM:<alice@example.test>")).code, 250);
  assert.equal((await c.command("RCPT TO:<bob@example.net>")).code, 250);
  assert.equal((await c.command("DATA")).code, 354);
  c.write(`Subject: long\r\n\r\n${"a line of the body\r\n".repeat(10_000)}`);
  await sleep(300); // the sink has written most of it to its file by now
  assert.equal((await readdir(sink.dir)).length, 1, "the sink has the transaction's file");
  assert.deepEqual(await sink.messages(), []);
  assert.equal((await c.command(".")).code, 250);
  assert.equal((await sink.messages()).length, 1);
  c.close();
});
