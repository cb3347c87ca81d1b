// What the log tests share: the filter files docs/logging.md documents (the tests run exactly those),
// a gateway log as a Kubernetes node holds it, and fail2ban-regex over both forms of a log.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./run.ts";

/** docs/logging.md: the only copy of the fail2ban filters and the CrowdSec configuration. */
export const LOGGING_DOCS = new URL("../../docs/logging.md", import.meta.url);

/** The file docs/logging.md gives in a code block whose first line is the comment `# <path>`. */
export function documented(docs: string, path: string): string {
  // Split at every fence, opening or closing: the odd pieces are the blocks' contents.
  const block = docs
    .split(/```[a-z]*\n/)
    .filter((_, i) => i % 2 === 1)
    .find((b) => b.startsWith(`# ${path}\n`));
  assert.ok(block, `docs/logging.md has ${path}`);
  return block;
}

/**
 * A gateway log as the container runtime writes a pod's standard output under /var/log/containers
 * (the CRI log format: RFC 3339 time, stream, "F" for a full line, then the line), each line stamped
 * with its own pino `time` — what fail2ban and CrowdSec read on a Kubernetes node.
 */
export function criLog(jsonLines: string): string {
  const lines = jsonLines.split("\n").filter((line) => line !== "");
  const cri = lines.map((line) => {
    const time = (JSON.parse(line) as { time: number }).time;
    return `${new Date(time).toISOString()} stdout F ${line}`;
  });
  return `${cri.join("\n")}\n`;
}

/**
 * The addresses the documented fail2ban filter at `filterPath` finds (`fail2ban-regex -o ip`), in
 * the gateway's own output and in the same lines as a node's /var/log/containers holds them.
 */
export async function fail2banMatches(
  dir: string,
  logFile: string,
  filterPath: string,
): Promise<{ log: string; addresses: string[] }[]> {
  const filter = join(dir, "filter.conf");
  await writeFile(filter, documented(await readFile(LOGGING_DOCS, "utf8"), filterPath));
  const criFile = join(dir, "gateway.cri.log");
  await writeFile(criFile, criLog(await readFile(logFile, "utf8")));
  const matches = [];
  for (const log of [logFile, criFile]) {
    const result = await run("fail2ban-regex", ["-o", "ip", log, filter]);
    assert.equal(result.code, 0, result.stderr);
    matches.push({ log, addresses: result.stdout.split("\n").filter(Boolean) });
  }
  return matches;
}
