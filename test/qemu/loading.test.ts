/**
 * QEMU tier, loading: boots Debian bookworm's kernel ONCE and runs
 * guest/loading.ts in it: kmodkit's loader, ModuleSet and CLI against the
 * real kernel, every case with the pre-flight verdict next to the kernel's
 * answer. See test/qemu/README.md and docs/loading.md.
 *
 * Skipped (with the reason printed) when qemu-system-x86_64 is not installed.
 * Run just this tier:  npx tsc -p . && npx ava dist/test/qemu/
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PROJECT_ROOT, parseTagged, prepareVm, qemuAvailable, runInVm, type RunResult } from './vm.js';
import { notRun } from '../helpers/tier.js';

interface Case {
  case: string;
  ok: boolean;
  expected: string;
  got: string;
  verdict?: string;
  kernel?: string;
  compare?: boolean;
  agree?: boolean;
  ms: number;
  detail?: unknown;
}

const parse = parseTagged;

/** The samples for the booted kernel (vm.samples: samples/ko, or a build for the kernel the archive offers now); set when the VM is ready. */
let KO = path.join(PROJECT_ROOT, 'samples', 'ko');
const guestScript = path.join(PROJECT_ROOT, 'dist', 'test', 'qemu', 'guest', 'loading.js');
const needed = ['hello.ko', 'kmodkit_params.ko', 'kmodkit_exporter.ko', 'kmodkit_consumer.ko', 'kmodkit_initfail.ko', 'kmodkit_nsmissing.ko'];
const skipReason = !qemuAvailable()
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !fs.existsSync(guestScript)
    ? `${guestScript} missing: build first (npx tsc -p .)`
    : needed.find((f) => !fs.existsSync(path.join(KO, f)))
      ? 'samples/ko is incomplete (run bash samples/build.sh)'
      : undefined;

/**
 * hello.ko with its vermagic string rewritten in place (a shorter string is
 * padded with NULs, which .modinfo parsing skips).
 */
function patchVermagic(edit: (v: string) => string): Uint8Array {
  const b = new Uint8Array(fs.readFileSync(path.join(KO, 'hello.ko')));
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  const at = buf.indexOf(Buffer.from('vermagic='));
  if (at < 0) throw new Error('hello.ko has no vermagic');
  const end = buf.indexOf(0, at);
  const text = buf.subarray(at, end).toString('latin1');
  const patched = edit(text);
  if (patched.length > text.length || patched === text) throw new Error(`cannot patch vermagic '${text}'`);
  buf.fill(0, at, end);
  buf.write(patched, at, 'latin1');
  return b;
}

/** Another kernel release, same flags: with modversions the kernel ignores the release (same_magic). */
const otherRelease = () => patchVermagic((v) => v.replace(/^vermagic=(\d+\.\d+\.\d+)-(\d+)/, (_m, ver, abi) => `vermagic=${ver}-${String((Number(abi) + 43) % 100).padStart(abi.length, '0')}`));
/** A kernel built without PREEMPT: a real mismatch (ENOEXEC). */
const badMagic = () => patchVermagic((v) => v.replace(' preempt', ''));

/** The sample file with `from` replaced by `to` (same length). */
function patchBytes(rel: string, from: string, to: string): Uint8Array {
  const data = fs.readFileSync(path.join(KO, rel));
  const at = data.indexOf(Buffer.from(from, 'latin1'));
  if (at < 0 || from.length !== to.length) throw new Error(`cannot patch ${from} in ${rel}`);
  Buffer.from(to, 'latin1').copy(data, at);
  return data;
}

/** The broken variants of the pre-flight issue, as files for the guest. */
function brokenVariants(): Record<string, Uint8Array> {
  // GPL-only symbols used under a non-GPL licence
  const mit = patchBytes('kmodkit_consumer.ko', 'license=GPL\0', 'license=MIT\0');
  // a CRC in __versions that the kernel's export does not have: the 64-byte
  // record's name field follows its 8-byte CRC, so flip a bit just before the name
  const badcrc = fs.readFileSync(path.join(KO, 'hello.ko'));
  const name = badcrc.indexOf(Buffer.from('\0_printk\0', 'latin1'));
  if (name < 0) throw new Error('no _printk modversion in hello.ko');
  badcrc[name + 1 - 8] ^= 0x01;
  // another architecture: e_machine = EM_AARCH64
  const arm = fs.readFileSync(path.join(KO, 'hello.ko'));
  arm.writeUInt16LE(183, 18);
  // a tampered signature: one byte of the PKCS#7 signature value flipped
  const tampered = fs.readFileSync(path.join(KO, 'signed/hello.ko'));
  tampered[tampered.length - 40 - 10] ^= 0x01;
  return {
    '/extra/broken/kmodkit_consumer.ko': mit,
    '/extra/broken/hello-badcrc.ko': badcrc,
    '/extra/broken/hello-aarch64.ko': arm,
    '/extra/broken/hello-tampered.ko': tampered,
  };
}

/**
 * Cases where the pre-flight verdict is known to disagree with the kernel,
 * with the reason. They are reported, not failed; an entry that starts to
 * agree fails the test so it gets removed.
 */
// Cases where the pre-flight verdict is known to differ from the kernel (none
// at present; the bare-invbool case was fixed in lib/check/kparams.ts).
const KNOWN_DISAGREEMENTS: Record<string, string> = {};

if (skipReason !== undefined) {
  console.log(`[qemu loading] SKIPPED: ${skipReason}`);
  notRun('qemu loading: loader, ModuleSet and CLI in a real kernel', skipReason);
} else {
  test('qemu loading: loader, ModuleSet and CLI in a real kernel', async (t) => {
    t.timeout(40 * 60_000, 'VM preparation and one boot (slow under TCG on a shared machine)');
    const vm = await prepareVm();
    KO = vm.samples;
    if (KO !== path.join(PROJECT_ROOT, 'samples', 'ko')) t.log(`samples built for ${vm.release} in ${KO} (samples/ko was built for another ABI)`);
    const rel = vm.release;
    const G = '/kmodkit/samples/ko';
    const dep = [
      `${G}/kmodkit_consumer.ko: ${G}/kmodkit_exporter.ko`,
      `${G}/kmodkit_exporter.ko:`,
      `${G}/kmodkit_nsmissing.ko: ${G}/kmodkit_exporter.ko`,
      `${G}/hello.ko:`,
      `${G}/kmodkit_params.ko:`,
      `${G}/kmodkit_initfail.ko:`,
    ].join('\n') + '\n';
    const bad = badMagic();
    const files: Record<string, string | Uint8Array> = {
      [`/lib/modules/${rel}/modules.dep`]: new TextEncoder().encode(dep),
      [`/lib/modules/${rel}/modules.builtin`]: path.join(vm.modulesDir, 'modules.builtin'),
      [`/boot/config-${rel}`]: vm.config,
      [`/usr/src/linux-headers-${rel}/Module.symvers`]: path.join(vm.headersDir, 'Module.symvers'),
      '/extra/hello-badmagic.ko': bad,
      '/extra/hello-otherrelease.ko': otherRelease(),
      '/extra/hello-badmagic.ko.gz': zlib.gzipSync(bad),
      ...brokenVariants(),
    };
    const script = [
      'node dist/test/qemu/guest/loading.js',
      'st=$?',
      'echo "--- dmesg (tail)"',
      "dmesg | grep -iE 'kmodkit|hello|param|magic|symbol|namespace|taint|module' | grep -v 'hello from kmodkit\\|goodbye from kmodkit' | tail -n 80",
      'exit $st',
    ].join('\n');
    const r: RunResult = await runInVm(script, { vm, files, timeoutMs: 35 * 60_000 });

    const consoleLog = path.join(os.tmpdir(), 'kmodkit-qemu-loading-console.log');
    fs.writeFileSync(consoleLog, r.output);
    console.log(`[qemu loading] console output: ${consoleLog}`);
    const cases = parse<Case>(r.scriptOutput, 'LOAD-CASE');
    const [summary] = parse<{ cases: number; passed: number; failed: string[]; compared: number; agreed: number; disagreements: unknown[]; notCompared: { case: string; verdict?: string; kernel?: string }[] }>(r.scriptOutput, 'LOAD-SUMMARY');
    const errors = parse<string>(r.scriptOutput, 'LOAD-ERROR');
    const cycles = cases.find((c) => c.case === 'cycles.100');
    const report = [
      `kernel ${vm.release}, accel ${r.accel}; boot ${r.bootSeconds?.toFixed(1)} s, whole run ${r.totalSeconds.toFixed(1)} s, pack ${r.packSeconds.toFixed(1)} s`,
      summary
        ? `cases executed: ${summary.cases}, passed: ${summary.passed}, failed: ${summary.failed.length ? summary.failed.join(', ') : 0}`
        : 'no summary from the guest',
      summary ? `pre-flight verdict vs kernel: ${summary.agreed}/${summary.compared} agree; not comparable: ${summary.notCompared.map((c) => `${c.case} (verdict ${c.verdict}, kernel ${c.kernel})`).join('; ')}` : '',
      cycles ? `100 load/unload cycles: ${JSON.stringify(cycles.detail)}` : '',
    ].filter(Boolean);
    for (const line of report) {
      t.log(line);
      console.log(`[qemu loading] ${line}`);
    }
    for (const c of cases) {
      const v = c.verdict !== undefined ? ` [pre-flight ${c.verdict} / kernel ${c.kernel}${c.compare ? (c.agree ? ' agree' : ' DISAGREE') : c.compare === false ? ' not compared' : ''}]` : '';
      console.log(`[qemu loading] ${c.ok ? 'ok  ' : 'FAIL'} ${c.case} (${c.ms} ms)${v}${c.ok ? '' : `: expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(c.got)}`}`);
    }
    if (r.exitCode !== 0 || !summary) {
      t.log(r.output.slice(-8000));
      if (r.qemuStderr) t.log(`qemu stderr: ${r.qemuStderr}`);
    }
    t.deepEqual(errors, [], 'guest script crashed');
    t.false(r.timedOut, 'VM timed out');
    t.truthy(summary, 'guest printed a summary');
    t.true(cases.length >= 50, `cases executed: ${cases.length}`);
    for (const c of cases) t.true(c.ok, `${c.case}: expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(c.got)}`);
    for (const c of cases.filter((x) => x.compare)) {
      const known = KNOWN_DISAGREEMENTS[c.case];
      if (known) {
        t.false(c.agree, `${c.case} now agrees: remove it from KNOWN_DISAGREEMENTS`);
        console.log(`[qemu loading] KNOWN DISAGREEMENT ${c.case}: pre-flight ${c.verdict}, kernel ${c.kernel}: ${known}`);
      } else t.true(c.agree, `${c.case}: pre-flight says ${c.verdict}, kernel said ${c.kernel}`);
    }
    // The guest exits 1 on any disagreement; with only known ones that is expected.
    const unexpected = cases.filter((c) => !c.ok || (c.compare && !c.agree && !KNOWN_DISAGREEMENTS[c.case]));
    t.is(r.exitCode, unexpected.length === 0 && cases.some((c) => c.compare && !c.agree) ? 1 : 0, 'guest script exit status');
  });
}
