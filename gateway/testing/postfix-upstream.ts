// A real Postfix as the gateway's upstream relay: a private, non-default instance on loopback (its
// own config, queue and data directories in one temp dir) whose smtpd requires STARTTLS and SASL
// AUTH (PLAIN, LOGIN) checked by a private Dovecot, refuses the recipients in REFUSED_RECIPIENTS,
// and hands every accepted message synchronously to an smtp-sink through smtpd_proxy_filter — so
// Postfix's 250 after DATA means the sink holds the message. Postfix and Dovecot start as root
// (they drop privileges themselves), as they do on a mail server.
import { execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { testPki } from "./certificates.ts";
import { freePort, waitForPort } from "./ports.ts";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.ts";

const run = promisify(execFile);

/** Runs a command that starts a daemon: the daemon must not inherit our pipes (execFile would wait
 *  for them to close, i.e. for the daemon to exit). */
function startDaemon(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
}

/** Resolves once the process is gone (or after `ms`). */
async function exited(pid: number, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pidIn = async (file: string) =>
  Number((await readFile(file, "utf8").catch(() => "")).trim()) || undefined;

export const UPSTREAM_USER = "relay@gateway.test";

/** Recipients the Postfix upstream refuses at RCPT, with the reply it gives. */
export const REFUSED_RECIPIENTS = {
  "refused@example.net": "550 5.1.1 No such user here",
  "busy@example.net": "450 4.2.1 Mailbox busy, try later",
} as const;

export interface PostfixUpstream {
  /** smtpd: STARTTLS, then AUTH, required. Its certificate is testPki()'s server certificate. */
  port: number;
  /** The same behind implicit TLS (RFC 8314, "smtps"). */
  implicitPort: number;
  sink: SmtpSink;
  dir: string;
  /** Sets the password Dovecot accepts for UPSTREAM_USER (read on every AUTH). */
  setPassword(password: string): Promise<void>;
  /** PIDs of the smtpd processes serving a client connection now. */
  sessionPids(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Debian's stock master.cf for a private instance: without the port-25 listener (that belongs to
 *  the machine's instance, if any) and without chroot (the instance's files live in a temp dir). */
export function stockServices(stock: string): string {
  return stock
    .split("\n")
    .map((line) =>
      line
        .replace(/^smtp +inet.*/, "#$&")
        .replace(/^([a-z]+ +(?:unix|fifo|inet|unix-dgram) +[-yn] +[-yn] +)y/, "$1n"),
    )
    .join("\n");
}

function masterCf(stock: string, ports: { port: number; implicitPort: number; sinkPort: number }): string {
  const services = stockServices(stock);
  const submission = `smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_proxy_filter=127.0.0.1:${ports.sinkPort}`;
  return `${services}
127.0.0.1:${ports.port} inet n - n - - ${submission}
127.0.0.1:${ports.implicitPort} inet n - n - - ${submission}
  -o smtpd_tls_wrappermode=yes
`;
}

export async function startPostfixUpstream(): Promise<PostfixUpstream> {
  if (userInfo().uid !== 0) throw new Error("a private Postfix instance needs root to start");
  const pki = await testPki();
  const dir = await mkdtemp(join(tmpdir(), "postern-postfix-"));
  await chmod(dir, 0o755); // smtpd (user postfix) opens the Dovecot socket in here
  for (const sub of ["etc", "queue", "data", "dovecot"]) await mkdir(join(dir, sub));
  await chown(join(dir, "data"), Number((await run("id", ["-u", "postfix"])).stdout), 0);
  const sink = await startSmtpSink();
  const port = await freePort();
  const implicitPort = await freePort();

  const users = join(dir, "users");
  const setPassword = async (password: string) => {
    const { stdout } = await run("doveadm", ["pw", "-s", "SHA512-CRYPT", "-p", password]);
    await writeFile(users, `${UPSTREAM_USER}:${stdout.trim()}\n`);
  };
  await setPassword("not-set-yet");
  await writeFile(
    join(dir, "dovecot.conf"),
    `base_dir = ${dir}/dovecot
state_dir = ${dir}/dovecot
protocols =
ssl = no
log_path = ${dir}/dovecot.log
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = ${users}
}
# No growing delay for an address after failed logins: tests fail AUTH on purpose.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener ${dir}/auth {
    mode = 0666
  }
}
`,
  );
  const recipients = Object.entries(REFUSED_RECIPIENTS).map(([address, reply]) => `${address} ${reply}`);
  await writeFile(join(dir, "recipients"), `${recipients.join("\n")}\n`);
  await writeFile(
    join(dir, "etc", "main.cf"),
    `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
mail_owner = postfix
myhostname = upstream.test
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = ${dir}/maillog
maillog_file_prefixes = /tmp
smtpd_tls_cert_file = ${pki.serverCert}
smtpd_tls_key_file = ${pki.serverKey}
smtpd_sasl_type = dovecot
smtpd_sasl_path = ${dir}/auth
smtpd_recipient_restrictions = check_recipient_access texthash:${dir}/recipients
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
`,
  );
  await writeFile(
    join(dir, "etc", "master.cf"),
    masterCf(await readFile("/etc/postfix/master.cf", "utf8"), { port, implicitPort, sinkPort: sink.port }),
  );

  await startDaemon("dovecot", ["-c", join(dir, "dovecot.conf")]);
  await startDaemon("postfix", ["-c", join(dir, "etc"), "start"]);
  await Promise.all([waitForPort(port), waitForPort(implicitPort)]);

  return {
    port,
    implicitPort,
    sink,
    dir,
    setPassword,
    async sessionPids() {
      // ss lists the server side of each established connection to the smtpd port with its owner.
      const filter = `( sport = :${port} or sport = :${implicitPort} )`;
      const { stdout } = await run("ss", ["-Htnp", "state", "established", filter]);
      return [...stdout.matchAll(/"smtpd",pid=(\d+)/g)].map((m) => Number(m[1]));
    },
    async stop() {
      const master = await pidIn(join(dir, "queue", "pid", "master.pid"));
      await startDaemon("postfix", ["-c", join(dir, "etc"), "stop"]).catch(() => undefined);
      const dovecot = await pidIn(join(dir, "dovecot", "master.pid"));
      if (dovecot) process.kill(dovecot, "SIGTERM");
      await Promise.all([master && exited(master), dovecot && exited(dovecot), sink.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
