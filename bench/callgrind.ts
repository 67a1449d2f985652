/**
 * Counting a proxy's instructions with valgrind's callgrind: the proxy runs under callgrind with
 * counting off, is warmed up, counts only while the measured requests run (`callgrind_control -i`),
 * and its counts are dumped and read back per thread.
 *
 * Counts, not seconds: the same build given the same requests gives the same count whatever else
 * the machine is doing, so a change on the hot path shows on a machine where CPU time per request
 * varies by a fifth between runs. What a count leaves out is the kernel's share (system calls, TCP
 * on loopback) and how fast the instructions run.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './tools.js';

export interface Callgrind {
  valgrind: string;
  control: string;
}

/** valgrind and callgrind_control on PATH, or null when either is missing. */
export function findCallgrind(pathVar: string = process.env.PATH ?? ''): Callgrind | null {
  const valgrind = which('valgrind', pathVar);
  const control = which('callgrind_control', pathVar);
  return valgrind === null || control === null ? null : { valgrind, control };
}

/**
 * The command that runs `command args` under callgrind, counting nothing until told to, one
 * output file per thread into `outDir`. JIT-compiled code (V8) rewrites itself, which valgrind
 * must be told to check for.
 */
export function underCallgrind(cg: Callgrind, outDir: string, command: string, args: readonly string[]): { command: string; args: string[] } {
  return {
    command: cg.valgrind,
    args: ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${join(outDir, 'callgrind.out')}`, command, ...args],
  };
}

function control(cg: Callgrind, args: string[]): void {
  execFileSync(cg.control, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
}

/** Turns counting on (`true`) or off in the process `pid` runs under callgrind. */
export function setCounting(cg: Callgrind, pid: number, on: boolean): void {
  control(cg, ['-i', on ? 'on' : 'off', String(pid)]);
}

/** Instructions counted per thread, in thread order (the first is the main thread). */
export interface ThreadCounts {
  thread: number;
  instructions: number;
}

/**
 * The `thread:` and `totals:` lines of one callgrind output file (a file per thread with
 * `--separate-threads`); null when the file has no totals (yet).
 */
export function parseCallgrindTotals(text: string): ThreadCounts | null {
  const thread = /^thread: (\d+)$/m.exec(text);
  const totals = /^totals: (\d+)/m.exec(text) ?? /^summary: (\d+)/m.exec(text);
  if (totals === null) return null;
  return { thread: thread === null ? 1 : Number(thread[1]), instructions: Number(totals[1]) };
}

/**
 * Dumps what `pid` counted so far and reads it back, one entry per thread. The dump is the first
 * one of the run (`callgrind.out.1`, `callgrind.out.1-NN` per thread).
 */
export async function dumpCounts(cg: Callgrind, pid: number, outDir: string): Promise<ThreadCounts[]> {
  control(cg, ['-d', String(pid)]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const files = readdirSync(outDir).filter((f) => /^callgrind\.out\.1(-\d+)?$/.test(f));
    const counts = files.map((f) => parseCallgrindTotals(readFileSync(join(outDir, f), 'utf8')));
    if (files.length > 0 && counts.every((c) => c !== null)) {
      return counts.sort((a, b) => a.thread - b.thread);
    }
    if (Date.now() > deadline) throw new Error(`callgrind wrote no complete dump into ${outDir} (has ${readdirSync(outDir).join(', ') || 'nothing'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
