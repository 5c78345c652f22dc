/**
 * Records the /proc + /sys tree lib/io/sysfs.ts's unit tests read
 * (test/fixtures/sysroot/debian-12-qemu.json): boots Debian's own kernel in
 * QEMU (test/qemu/vm.ts), loads three samples with kmodkit insmod
 * (kmodkit_exporter, kmodkit_consumer, which uses it, and kmodkit_params with
 * two parameters), and has guest/record-sysroot.ts copy what the kernel shows.
 * Run by hand when the fixture should follow another kernel:
 *
 *   npx tsc -p . && node dist/test/qemu/record-sysroot.js
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareVm, runInVm } from './vm.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const OUT = join(ROOT, 'test/fixtures/sysroot/debian-12-qemu.json');

const vm = await prepareVm();
const script = [
  'set -e',
  'node dist/cli/index.js insmod samples/ko/kmodkit_exporter.ko',
  'node dist/cli/index.js insmod samples/ko/kmodkit_consumer.ko',
  'node dist/cli/index.js insmod samples/ko/kmodkit_params.ko intarr=1,2,3 strval=recorded',
  'node dist/test/qemu/guest/record-sysroot.js printk',
].join('\n');
const r = await runInVm(script, { vm, timeoutMs: 10 * 60_000 });
const line = r.scriptOutput.split('\n').find((l) => l.startsWith('SYSROOT-JSON '));
if (r.exitCode !== 0 || !line) {
  console.error(r.output.slice(-4000));
  throw new Error(`the guest did not record the tree (exit ${r.exitCode})`);
}
const { entries } = JSON.parse(line.slice('SYSROOT-JSON '.length)) as { entries: unknown[] };
const about = `Recorded by test/qemu/record-sysroot.ts from Debian's ${vm.release} kernel (${vm.packageVersion}) in QEMU (${r.accel}), ` +
  'with kmodkit_exporter, kmodkit_consumer and kmodkit_params (intarr=1,2,3 strval=recorded) loaded by kmodkit insmod; ' +
  'printk is a built-in module with parameters. test/helpers/sysroot.ts writes it out as a directory for lib/io/sysfs.ts\'s root parameter.';
writeFileSync(OUT, `${JSON.stringify({ about, entries }, null, 1)}\n`);
console.log(`${OUT}: ${entries.length} entries (${vm.release}, boot ${r.bootSeconds?.toFixed(1)} s, whole run ${r.totalSeconds.toFixed(1)} s)`);
