// What the benchmark reads from /proc: a process's resident memory (now and peak) and CPU time, and the
// machine's CPU time, so a run can say whether the server, the load generator or the machine was the
// limit. CPU is compared in clock ticks of the same clock, so no CLK_TCK assumption is needed.
import { readdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";

export interface Memory {
  /** VmRSS: resident now. */
  rssBytes: number;
  /** VmHWM: the peak resident size since the process started. */
  hwmBytes: number;
}

export interface CpuSample {
  /** utime + stime of the process, in clock ticks. */
  processTicks: number;
  /** All CPU time of the machine (every state, every CPU), in clock ticks. */
  machineTicks: number;
  /** The machine's non-idle CPU time, in clock ticks. */
  machineBusyTicks: number;
}

export interface CpuUse {
  /** Of one core: 100 means the process kept one core busy the whole time. */
  processPercentOfCore: number;
  /** Of the whole machine. */
  machineBusyPercent: number;
}

function kibField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${name} in /proc status`);
  return Number(match[1]) * 1024;
}

/** Parses /proc/<pid>/status. */
export function parseMemory(status: string): Memory {
  return { rssBytes: kibField(status, "VmRSS"), hwmBytes: kibField(status, "VmHWM") };
}

/** utime + stime from /proc/<pid>/stat; fields are counted after the ")" because comm may hold spaces. */
export function parseProcessTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After comm: state is field 3 of proc(5), utime 14 and stime 15, i.e. indexes 11 and 12 here.
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  if (!(Number.isInteger(utime) && Number.isInteger(stime))) throw new Error("malformed /proc/<pid>/stat");
  return utime + stime;
}

/** The aggregate "cpu" line of /proc/stat: all ticks, and the busy ones (everything but idle and iowait). */
export function parseMachineTicks(procStat: string): { total: number; busy: number } {
  const line = /^cpu\s+([\d ]+)$/m.exec(procStat)?.[1];
  if (!line) throw new Error("no cpu line in /proc/stat");
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const ticks = line.trim().split(/\s+/).map(Number).slice(0, 8);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { total, busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0) };
}

export function cpuUse(before: CpuSample, after: CpuSample, cpus: number): CpuUse {
  const machine = after.machineTicks - before.machineTicks;
  if (machine <= 0) return { processPercentOfCore: 0, machineBusyPercent: 0 };
  return {
    processPercentOfCore: ((after.processTicks - before.processTicks) / (machine / cpus)) * 100,
    machineBusyPercent: ((after.machineBusyTicks - before.machineBusyTicks) / machine) * 100,
  };
}

export async function readMemory(pid: number): Promise<Memory> {
  return parseMemory(await readFile(`/proc/${pid}/status`, "utf8"));
}

/** Without a pid, only the machine's figures (processTicks stays 0). */
export async function sampleCpu(pid?: number): Promise<CpuSample> {
  const [stat, procStat] = await Promise.all([
    pid === undefined ? undefined : readFile(`/proc/${pid}/stat`, "utf8"),
    readFile("/proc/stat", "utf8"),
  ]);
  const machine = parseMachineTicks(procStat);
  return {
    processTicks: stat === undefined ? 0 : parseProcessTicks(stat),
    machineTicks: machine.total,
    machineBusyTicks: machine.busy,
  };
}

export const CPUS = availableParallelism();

/** One line of /proc/<pid>/stat: the parent, and the CPU time of the process and of its children
 *  that have exited and been waited for (utime + stime + cutime + cstime), in clock ticks. */
export function parseProcess(stat: string): { pid: number; ppid: number; ticks: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const pid = Number(stat.slice(0, stat.indexOf(" ")));
  const [ppid, utime, stime, cutime, cstime] = [1, 11, 12, 13, 14].map((i) => Number(fields[i]));
  return {
    pid,
    ppid: ppid as number,
    ticks: (utime as number) + (stime as number) + (cutime as number) + (cstime as number),
  };
}

/**
 * CPU ticks of the process trees under `roots`, without the trees under `excluded`. A child's time
 * moves into its parent's cutime/cstime when it exits, so the sum over the living tree grows by
 * exactly the work done, whether processes came and went meanwhile (Postfix's smtpd, cleanup and
 * smtp; Dovecot's auth workers) or not.
 */
export function treeTicks(
  processes: readonly { pid: number; ppid: number; ticks: number }[],
  roots: readonly number[],
  excluded: readonly number[] = [],
): number {
  const children = new Map<number, number[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const ticks = new Map(processes.map((p) => [p.pid, p.ticks]));
  let total = 0;
  const stack = roots.filter((pid) => ticks.has(pid));
  const seen = new Set<number>(excluded);
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Every process's line of /proc/<pid>/stat (processes that exit while being read are skipped). */
export async function readProcesses(): Promise<{ pid: number; ppid: number; ticks: number }[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  const stats = await Promise.all(
    pids.map((pid) => readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined)),
  );
  return stats.filter((s): s is string => s !== undefined).map(parseProcess);
}

/** Clock ticks per second in /proc: Linux reports CPU time in USER_HZ, which is 100 on every
 *  architecture (sysconf(_SC_CLK_TCK) says so too). */
export const USER_HZ = 100;
