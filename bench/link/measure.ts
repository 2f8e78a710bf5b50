/**
 * Runs one job as a child process and measures it from outside: wall seconds from spawn to exit,
 * and peak resident memory, taken two ways and the larger reported:
 *  - `/usr/bin/time -v` (GNU time, Debian package `time`) when present: the kernel's ru_maxrss, the
 *    peak RSS of the largest single process in the job's tree (exact, catches short spikes);
 *  - polling /proc every 200 ms: the sum of VmRSS over the whole process tree (catches jobs that
 *    spread over several processes, which ru_maxrss would understate).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const GNU_TIME = '/usr/bin/time';

export interface Measurement {
  exitCode: number | null;
  signal: string | null;
  wallSeconds: number;
  /** The larger of the two peaks below, in bytes. */
  peakRssBytes: number;
  /** ru_maxrss from GNU time (largest single process), bytes; null without GNU time. */
  maxRssSingleProcessBytes: number | null;
  /** Peak of the polled sum of VmRSS over the process tree, bytes. */
  polledTreeRssBytes: number;
  /** User + system CPU seconds of the job's tree (GNU time); null without GNU time. Less sensitive than wall time to other load. */
  cpuSeconds: number | null;
  method: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd: string;
  stdoutFile: string;
  stderrFile: string;
  timeoutSeconds: number;
  env?: NodeJS.ProcessEnv;
}

async function processTree(root: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(rest[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [root];
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!tree.includes(pid) && tree.includes(ppid)) {
        tree.push(pid);
        grew = true;
      }
    }
  }
  return tree;
}

async function treeRssBytes(root: number): Promise<number> {
  let total = 0;
  for (const pid of await processTree(root)) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // ended
    }
  }
  return total;
}

/** Run `command args` measured; stdout and stderr go to files. Never throws on a failing job. */
export async function runMeasured(command: string, args: string[], options: RunOptions): Promise<Measurement> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(tmpdir(), `bench-link-time-${process.pid}-${Date.now()}.txt`);
  const argv = useTime ? [GNU_TIME, '-v', '-o', timeFile, command, ...args] : [command, ...args];
  const out = openSync(options.stdoutFile, 'w');
  const err = openSync(options.stderrFile, 'w');
  const started = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', out, err],
  });
  let polled = 0;
  let polling = false;
  const poll = setInterval(() => {
    if (polling || child.pid === undefined) return;
    polling = true;
    void treeRssBytes(child.pid)
      .then((bytes) => {
        polled = Math.max(polled, bytes);
      })
      .finally(() => {
        polling = false;
      });
  }, 200);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, options.timeoutSeconds * 1000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.on('exit', (code, sig) => resolve([code, sig]));
    child.on('error', () => resolve([127, null]));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(poll);
  clearTimeout(timer);
  closeSync(out);
  closeSync(err);
  let single: number | null = null;
  let cpuSeconds: number | null = null;
  let code = exitCode;
  if (useTime) {
    try {
      const report = await readFile(timeFile, 'utf8');
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
      if (m) single = Number(m[1]) * 1024;
      const user = /User time \(seconds\): ([\d.]+)/.exec(report);
      const system = /System time \(seconds\): ([\d.]+)/.exec(report);
      if (user && system) cpuSeconds = Number(user[1]) + Number(system[1]);
      // GNU time exits with the job's status; "Command exited with non-zero status N" says which.
      const status = /Command exited with non-zero status (\d+)/.exec(report);
      if (status && code === 0) code = Number(status[1]);
    } catch {
      // no report: the job was killed before time wrote it
    }
    await rm(timeFile, { force: true });
  }
  return {
    exitCode: code,
    signal,
    wallSeconds,
    peakRssBytes: Math.max(single ?? 0, polled),
    maxRssSingleProcessBytes: single,
    polledTreeRssBytes: polled,
    cpuSeconds,
    method: useTime
      ? 'max(GNU time ru_maxrss, polled process-tree VmRSS)'
      : 'polled process-tree VmRSS (/usr/bin/time absent)',
    timedOut,
  };
}
