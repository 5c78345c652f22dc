/**
 * QEMU tier smoke test: boots Debian bookworm's kernel once and, inside the
 * VM, drives lib/load/syscalls.ts (from dist/) against a real kernel:
 * finit_module, /proc/modules, EEXIST, delete_module, ENOENT, init_module.
 *
 * Skipped (with the reason printed) when qemu-system-x86_64 is not installed.
 * Run just this tier:  npx tsc -p . && npx ava dist/test/qemu/
 */

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, parseTagged, prepareVm, qemuAvailable, runInVm, type RunResult } from './vm.js';
import { notRun } from '../helpers/tier.js';

interface Step {
  step: string;
  ok: boolean;
  expected: string;
  got: string;
  detail?: unknown;
}

/** The module to load: samples/ko/hello.ko, or $KMODKIT_SMOKE_KO (a host path). */
function pickModule(): { guest: string; files: Record<string, string> } | { skip: string } {
  const env = process.env.KMODKIT_SMOKE_KO;
  if (env) {
    if (!fs.existsSync(env)) return { skip: `KMODKIT_SMOKE_KO=${env} does not exist` };
    return { guest: '/extra/smoke.ko', files: { '/extra/smoke.ko': path.resolve(env) } };
  }
  const hello = path.join(PROJECT_ROOT, 'samples', 'ko', 'hello.ko');
  if (fs.existsSync(hello)) return { guest: 'samples/ko/hello.ko', files: {} };
  return { skip: 'samples/ko/hello.ko is missing (run bash samples/build.sh) and KMODKIT_SMOKE_KO is not set' };
}

const parse = parseTagged;

const guestScript = path.join(PROJECT_ROOT, 'dist', 'test', 'qemu', 'guest', 'smoke.js');
const mod = pickModule();
const skipReason = !qemuAvailable()
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !fs.existsSync(guestScript)
    ? `${guestScript} missing: build first (npx tsc -p .)`
    : 'skip' in mod
      ? mod.skip
      : undefined;

if (skipReason !== undefined) {
  console.log(`[qemu smoke] SKIPPED: ${skipReason}`);
  notRun('qemu smoke: module syscalls in a real kernel', skipReason);
} else {
  const m = mod as { guest: string; files: Record<string, string> };

  test('qemu smoke: module syscalls in a real kernel', async (t) => {
    t.timeout(15 * 60_000, 'VM preparation (first run downloads the kernel) and boot');
    const vm = await prepareVm();
    const script = [
      `node dist/test/qemu/guest/smoke.js ${m.guest}`,
      'st=$?',
      'echo "--- dmesg (module lines)"',
      "dmesg | grep -iE 'hello|kmodkit|smoke|taint|verification|module' | tail -n 20",
      'exit $st',
    ].join('\n');
    const r: RunResult = await runInVm(script, { vm, files: m.files });

    const steps = parse<Step>(r.scriptOutput, 'SMOKE-STEP');
    const [summary] = parse<{ passed: number; failed: number; steps: number; syscalls: number }>(
      r.scriptOutput,
      'SMOKE-SUMMARY',
    );
    const [info] = parse<Record<string, string>>(r.scriptOutput, 'SMOKE-INFO');

    const report = [
      `kernel ${vm.release} (${vm.packageVersion}), accel ${r.accel}`,
      `boot ${r.bootSeconds?.toFixed(1)} s to /init (guest uptime ${r.guestUptime} s), ` +
        `whole run ${r.totalSeconds.toFixed(1)} s, initramfs pack ${r.packSeconds.toFixed(1)} s`,
      summary
        ? `steps: ${summary.passed}/${summary.steps} passed, ${summary.failed} failed, ${summary.syscalls} syscalls`
        : 'no summary from the guest',
      info ? `kernel facts: ${JSON.stringify(info)}` : '',
    ].filter(Boolean);
    for (const line of report) {
      t.log(line);
      console.log(`[qemu smoke] ${line}`);
    }

    if (r.exitCode === null || !summary) {
      t.log(r.output.slice(-6000));
      if (r.qemuStderr) t.log(`qemu stderr: ${r.qemuStderr}`);
    }
    t.false(r.timedOut, 'VM timed out');
    t.not(r.exitCode, null, 'guest never printed the end marker');

    const get = (name: string): Step | undefined => steps.find((s) => s.step === name);
    const expect: Array<[string, string]> = [
      ['finit_module', 'ok'],
      ['proc_modules_after_finit', 'listed'],
      ['finit_module_again', 'EEXIST'],
      ['delete_module', 'ok'],
      ['proc_modules_after_delete', 'absent'],
      ['delete_module_again', 'ENOENT'],
      ['init_module', 'ok'],
      ['proc_modules_after_init', 'present'],
      ['delete_module_after_init', 'ok'],
    ];
    for (const [name, want] of expect) {
      t.is(get(name)?.got, want, `step ${name}`);
    }
    for (const s of steps) t.true(s.ok, `step ${s.step}: expected ${s.expected}, got ${s.got}`);
    t.is(r.exitCode, 0, 'guest script exit status');
    t.is(info?.release, vm.release, 'booted kernel release');
  });
}
