// A gateway pod deleted while a client is in the middle of DATA, on a real node: the kubelet's SIGTERM
// starts the gateway's drain, the client (Python's smtplib, still sending) gets a 4xx instead of a
// silent close, retries through the Service on another pod, and the upstream holds exactly one copy.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { testMessage } from "../gateway/testing/run.ts";
import { apply, eventually, untilCondition } from "../operator/testing/cluster-objects.ts";
import {
  addUser,
  gateway,
  installOperator,
  kc,
  readyPods,
  restrictedNamespace,
  SUBMISSION_TARGET,
  serviceAddress,
  startUpstream,
  tlsSecret,
  upstreamCopies,
} from "./testing/system.ts";

/**
 * Sends half of the message to one pod, says so on stdout and waits for the gateway's reply; on a
 * 4xx it retries the whole message through the Service, as an SMTP client does.
 */
const PYTHON_MID_DATA = `
import smtplib, ssl, sys
pod, pod_port, service, user, password, sender, recipient = sys.argv[1:8]
message = sys.stdin.read()
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE

def logged_in(host, port):
    smtp = smtplib.SMTP(host, int(port), local_hostname="client.test", timeout=180)
    smtp.starttls(context=context)
    smtp.login(user, password)
    return smtp

smtp = logged_in(pod, pod_port)
smtp.mail(sender)
smtp.rcpt(recipient)
code, _ = smtp.docmd("DATA")
assert code == 354, code
smtp.sock.sendall(message[: len(message) // 2].encode())
print("mid-data", flush=True)
code, text = smtp.getreply()
print("reply", code, text.decode(), flush=True)
smtp.close()
if 400 <= code < 500:
    with logged_in(service, 587) as retry:
        print("retried", retry.sendmail(sender, [recipient], message.encode()), flush=True)
`;

test("a pod deleted while a client is mid-DATA: 4xx, a retry elsewhere, one copy upstream", async (t) => {
  const ns = await restrictedNamespace(t);
  const upstream = await startUpstream(t);
  await installOperator(ns);
  await tlsSecret(ns);
  await apply(gateway(ns, upstream, { replicas: 2 }));
  await addUser(ns, "alice", "alice-password");
  await untilCondition("SmtpUser", ns, "alice", "Ready", "True", "Bound");
  const [victim] = await readyPods(ns, 2);
  assert.ok(victim);
  const service = await serviceAddress(ns);

  const message = testMessage("alice@example.com", "dave@example.net");
  const client = spawn(
    "python3",
    ["-c", PYTHON_MID_DATA, victim.ip, String(SUBMISSION_TARGET), service].concat([
      message.from,
      "alice-password",
      message.from,
      message.to,
    ]),
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  t.after(() => client.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  client.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const midData = new Promise<void>((resolve, reject) => {
    client.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("mid-data\n")) resolve();
    });
    client.once("exit", () => reject(new Error(`the client exited before DATA: ${stdout}${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => client.once("exit", resolve));
  client.stdin.end(message.text);
  await midData;

  const deleted = performance.now();
  await kc(["delete", "pod", victim.name, "--wait=false"], { namespace: ns });
  assert.equal(await exited, 0, `${stdout}${stderr}`);
  const reply = /^reply (\d{3}) (.*)$/m.exec(stdout);
  assert.ok(reply, stdout);
  const seconds = ((performance.now() - deleted) / 1000).toFixed(1);
  process.stderr.write(
    `mid-DATA: the client got "${reply[1]} ${reply[2]}" ${seconds} s after the pod's deletion\n`,
  );
  assert.match(reply[1] ?? "", /^4\d\d$/);
  assert.match(stdout, /^retried \{\}$/m, "the retry was accepted");
  // The retry arrived; of the interrupted transaction the upstream kept nothing.
  const copies = await eventually("the retry upstream", async () => {
    const found = await upstreamCopies(upstream, message.token);
    return found.length > 0 ? found : undefined;
  });
  await sleep(1000);
  assert.equal(copies.length, 1);
  assert.equal((await upstreamCopies(upstream, message.token)).length, 1, "copies upstream");
});
