import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cpuUse,
  parseMachineTicks,
  parseMemory,
  parseProcess,
  parseProcessTicks,
  readMemory,
  sampleCpu,
  treeTicks,
} from "./proc-stats.ts";

test("VmRSS and VmHWM are read from /proc/<pid>/status in bytes", () => {
  const status =
    "Name:\tnode\nVmPeak:\t 2000000 kB\nVmHWM:\t  880000 kB\nVmRSS:\t  860000 kB\nThreads:\t11\n";
  assert.deepEqual(parseMemory(status), { rssBytes: 860000 * 1024, hwmBytes: 880000 * 1024 });
});

test("a status without VmRSS is an error, not zero", () => {
  assert.throws(() => parseMemory("Name:\tnode\nVmHWM:\t 1 kB\n"), /VmRSS/);
});

test("utime + stime are found after the command name even when it holds spaces and parentheses", () => {
  const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 11 0 300 0 0";
  assert.equal(parseProcessTicks(stat), 1234 + 567);
});

test("machine ticks: total of the first eight fields, busy without idle and iowait", () => {
  const procStat = "cpu  100 5 50 800 40 0 5 0 30 0\ncpu0 50 2 25 400 20 0 3 0 15 0\n";
  assert.deepEqual(parseMachineTicks(procStat), { total: 1000, busy: 160 });
});

test("CPU use: a process with a quarter of the machine's ticks on 2 CPUs used half a core", () => {
  const before = { processTicks: 0, machineTicks: 0, machineBusyTicks: 0 };
  const after = { processTicks: 250, machineTicks: 1000, machineBusyTicks: 600 };
  const use = cpuUse(before, after, 2);
  assert.equal(use.processPercentOfCore, 50);
  assert.equal(use.machineBusyPercent, 60);
});

test("this process's own memory and CPU can be read", async () => {
  const memory = await readMemory(process.pid);
  assert.ok(memory.rssBytes > 1024 * 1024 && memory.hwmBytes >= memory.rssBytes);
  const sample = await sampleCpu(process.pid);
  assert.ok(sample.machineTicks >= sample.machineBusyTicks && sample.processTicks > 0);
  assert.equal((await sampleCpu()).processTicks, 0);
});

test("a process tree's CPU: every living descendant, with what its exited children left behind", () => {
  const line = (pid: number, comm: string, ppid: number, u: number, s: number, cu: number, cs: number) =>
    `${pid} (${comm}) S ${ppid} 0 0 0 -1 0 0 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 1 0 0 0 0`;
  const master = parseProcess(line(10, "master", 1, 5, 5, 100, 20));
  assert.deepEqual(master, { pid: 10, ppid: 1, ticks: 130 });
  const processes = [
    master,
    parseProcess(line(11, "smtpd", 10, 40, 10, 0, 0)),
    parseProcess(line(12, "smtp-sink", 10, 70, 0, 0, 0)),
    parseProcess(line(13, "dovecot (auth)", 11, 3, 0, 0, 0)),
    parseProcess(line(20, "unrelated", 1, 999, 0, 0, 0)),
  ];
  assert.equal(treeTicks(processes, [10]), 130 + 50 + 70 + 3);
  assert.equal(treeTicks(processes, [10], [12]), 130 + 50 + 3);
  assert.equal(treeTicks(processes, [10, 20, 404]), 130 + 50 + 70 + 3 + 999);
});
