// A gateway log as the container runtime writes a pod's standard output under /var/log/containers
// (the CRI log format: RFC 3339 time, stream, "F" for a full line, then the line), each line stamped
// with its own pino `time` — what fail2ban and CrowdSec read on a Kubernetes node.

/** The CRI-format text of a JSON-lines log. */
export function criLog(jsonLines: string): string {
  const lines = jsonLines.split("\n").filter((line) => line !== "");
  const cri = lines.map((line) => {
    const time = (JSON.parse(line) as { time: number }).time;
    return `${new Date(time).toISOString()} stdout F ${line}`;
  });
  return `${cri.join("\n")}\n`;
}
