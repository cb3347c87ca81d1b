// What the benchmark reads from /proc: a process's resident memory (now and peak) and CPU time, and the
// machine's CPU time, so a run can say whether the server, the load generator or the machine was the
// limit. CPU is compared in clock ticks of the same clock, so no CLK_TCK assumption is needed.
import { readFile } from "node:fs/promises";
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
