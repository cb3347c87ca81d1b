// A real Postfix as a client of the gateway: a private, non-default instance (its own config, queue and
// data directories in one temp dir) whose relayhost is the gateway, authenticating with SASL PLAIN over
// STARTTLS from its own loopback address, with short retry intervals so a test can watch its queue runs.
// Mail goes in with its sendmail, queue runs are started with postqueue -f. Starts as root, as Postfix
// does on a mail server.

import { execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { stockServices } from "./postfix-upstream.ts";

const run = promisify(execFile);

export interface PostfixClient {
  /** Queues a message (Postfix's sendmail), to be relayed through the gateway. */
  send(from: string, to: string, text: string): Promise<void>;
  /** Starts a queue run (postqueue -f): every deferred message is tried again now. */
  flush(): Promise<void>;
  /** Messages still in the queue. */
  queued(): Promise<number>;
  /** Replaces the password Postfix logs in with (its sasl_passwd map) and reloads. */
  setPassword(password: string): Promise<void>;
  /** Postfix's own log. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface PostfixClientOptions {
  /** The gateway's STARTTLS submission port on 127.0.0.1. */
  relayPort: number;
  caFile: string;
  username: string;
  password: string;
  /** The client address Postfix connects from (any of 127.0.0.0/8). */
  bindAddress: string;
}

function startDaemon(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // Not execFile: the daemon must not inherit our pipes, or we would wait for it to exit.
    const child = spawn(command, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

export async function startPostfixClient(options: PostfixClientOptions): Promise<PostfixClient> {
  if (userInfo().uid !== 0) throw new Error("a private Postfix instance needs root to start");
  const dir = await mkdtemp(join(tmpdir(), "postern-postfix-client-"));
  await chmod(dir, 0o755); // Postfix's processes (user postfix) reach their data directory through it
  for (const sub of ["etc", "queue", "data"]) await mkdir(join(dir, sub));
  await chown(join(dir, "data"), Number((await run("id", ["-u", "postfix"])).stdout), 0);
  const etc = join(dir, "etc");
  const passwords = join(dir, "sasl_passwd");
  const relayhost = `[127.0.0.1]:${options.relayPort}`;
  const writePassword = (password: string) =>
    writeFile(passwords, `${relayhost} ${options.username}:${password}\n`, { mode: 0o600 });
  await writePassword(options.password);
  await writeFile(
    join(etc, "main.cf"),
    `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
mail_owner = postfix
myhostname = postfix-client.test
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = ${dir}/maillog
maillog_file_prefixes = /tmp
relayhost = ${relayhost}
smtp_bind_address = ${options.bindAddress}
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = texthash:${passwords}
smtp_sasl_security_options = noanonymous
smtp_sasl_mechanism_filter = plain
smtp_tls_security_level = encrypt
smtp_tls_CAfile = ${options.caFile}
# Retry within seconds, so a test sees several queue runs.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`,
  );
  // This instance only sends: the stock services, no listener.
  await writeFile(join(etc, "master.cf"), stockServices(await readFile("/etc/postfix/master.cf", "utf8")));
  await startDaemon("postfix", ["-c", etc, "start"]);

  return {
    async send(from, to, text) {
      const child = spawn("sendmail", ["-C", etc, "-f", from, to], { stdio: ["pipe", "ignore", "ignore"] });
      child.stdin.end(text);
      const [code] = await new Promise<[number | null]>((resolve) => child.once("exit", (c) => resolve([c])));
      if (code !== 0) throw new Error(`sendmail exited with ${code}`);
    },
    flush: () => startDaemon("postqueue", ["-c", etc, "-f"]),
    async queued() {
      const { stdout } = await run("postqueue", ["-c", etc, "-j"]);
      return stdout.split("\n").filter((line) => line.trim() !== "").length;
    },
    async setPassword(password) {
      await writePassword(password);
      await startDaemon("postfix", ["-c", etc, "reload"]);
    },
    log: () => readFile(join(dir, "maillog"), "utf8").catch(() => ""),
    async stop() {
      await startDaemon("postfix", ["-c", etc, "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
