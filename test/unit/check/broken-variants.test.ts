/**
 * "Every fault caught": broken variants of the sample modules, made by
 * patching the real .ko bytes (or a copy of the target's Module.symvers),
 * each checked offline against Debian's 6.1.0-56-amd64 and expected to fail
 * with one exact finding id.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { moduleFromBytes } from '../../../lib/module/module.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { loadTarget, readMaybeCompressedText } from '../../../lib/io/target.js';
import { checkModule, type CheckResult } from '../../../lib/check/run.js';
import { parseSymvers } from '../../../lib/check/symvers.js';
import { parseArch } from '../../../lib/check/arch.js';
import type { TargetKernel } from '../../../lib/check/target.js';
import type { KernelModule } from '../../../lib/module/module.js';
import { verifyModuleSignature } from '../../../lib/check/signature-verify.js';

/** The samples' target kernel (Debian 6.1.0-56-amd64's .config and Module.symvers, committed xz-compressed). */
const H = 'samples/target/6.1.0-56-amd64';
let target: TargetKernel;
let exporter: KernelModule;

test.before(async () => {
  target = await loadTarget({ kernelRelease: '6.1.0-56-amd64', configPath: `${H}/config.xz`, symversPath: `${H}/Module.symvers.xz` });
  exporter = await readModuleFile('samples/ko/kmodkit_exporter.ko');
});

const errors = (r: CheckResult) => r.findings.filter((f) => f.status === 'failed' && f.severity === 'error').map((f) => f.id);

/** Replace the first occurrence of `from` by `to` (same length) in a copy of the file. */
function patched(path: string, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error('patch must keep the length');
  const data = new Uint8Array(readFileSync(path));
  const needle = Buffer.from(from, 'latin1');
  const at = Buffer.from(data).indexOf(needle);
  if (at < 0) throw new Error(`${from} not found in ${path}`);
  data.set(Buffer.from(to, 'latin1'), at);
  return data;
}

test('sanity: the unpatched consumer (with its exporter) loads', async (t) => {
  const r = await checkModule(await readModuleFile('samples/ko/kmodkit_consumer.ko'), target, { companions: [exporter] });
  t.is(r.verdict, 'loads', JSON.stringify(errors(r)));
});

test('wrong vermagic (string patched in the .ko): vermagic.mismatch', async (t) => {
  // "preempt" -> "preemxx": same length, a token the target does not have
  const mod = await moduleFromBytes(patched('samples/ko/hello.ko', 'SMP preempt mod_unload', 'SMP preemxx mod_unload'));
  const r = await checkModule(mod, target);
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['vermagic.mismatch']);
});

test('a CRC changed in a copy of Module.symvers: symbol.crc-mismatch', async (t) => {
  const text = (await readMaybeCompressedText(`${H}/Module.symvers.xz`)).replace(/^0x([0-9a-f]{8})\t_printk\t/m, (_, crc: string) => `0x${((parseInt(crc, 16) ^ 0x5a5a) >>> 0).toString(16).padStart(8, '0')}\t_printk\t`);
  const r = await checkModule(await readModuleFile('samples/ko/hello.ko'), { ...target, symvers: parseSymvers(text) });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['symbol.crc-mismatch']);
  t.is(r.findings.find((f) => f.id === 'symbol.crc-mismatch' && f.status === 'failed')?.symbol, '_printk');
});

test('a symbol the target lacks: symbol.unknown (consumer without its exporter)', async (t) => {
  const r = await checkModule(await readModuleFile('samples/ko/kmodkit_consumer.ko'), target);
  t.is(r.verdict, 'fails');
  t.true(errors(r).includes('symbol.unknown'));
});

test('GPL-only symbol used under a proprietary licence (licence patched in the .ko): symbol.gpl-only', async (t) => {
  // "license=GPL\0" -> "license=MIT\0": not GPL-compatible for the kernel
  const mod = await moduleFromBytes(patched('samples/ko/kmodkit_consumer.ko', 'license=GPL\0', 'license=MIT\0'));
  const r = await checkModule(mod, target, { companions: [exporter] });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['symbol.gpl-only', 'symbol.gpl-only']);
  // both EXPORT_SYMBOL_GPL and EXPORT_SYMBOL_NS_GPL exports are refused; EXPORT_SYMBOL ones are not
  const symbols = r.findings.filter((x) => x.id === 'symbol.gpl-only' && x.status === 'failed').map((x) => x.symbol).sort();
  t.deepEqual(symbols, ['kmodkit_exp_gpl', 'kmodkit_exp_ns']);
});

test('a missing namespace import: namespace.missing-import', async (t) => {
  const r = await checkModule(await readModuleFile('samples/ko/kmodkit_nsmissing.ko'), target, { companions: [exporter] });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['namespace.missing-import']);
});

test('another architecture (e_machine patched to AArch64): arch.mismatch', async (t) => {
  const data = new Uint8Array(readFileSync('samples/ko/hello.ko'));
  new DataView(data.buffer).setUint16(18, 183, true); // EM_AARCH64
  const r = await checkModule(await moduleFromBytes(data), target);
  t.is(r.verdict, 'fails');
  t.true(errors(r).includes('arch.mismatch'), JSON.stringify(errors(r)));
  // and the other way round: the real x86_64 module against an arm64 target
  const r2 = await checkModule(await readModuleFile('samples/ko/hello.ko'), { ...target, arch: parseArch('aarch64') });
  t.true(errors(r2).includes('arch.mismatch'));
});

test('unsigned under enforcement: signature.missing', async (t) => {
  const r = await checkModule(await readModuleFile('samples/ko/hello.ko'), { ...target, sigEnforce: true });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['signature.missing']);
});

test('a tampered signature (one signature byte flipped): signature.invalid', async (t) => {
  const data = new Uint8Array(readFileSync('samples/ko/signed/hello.ko'));
  // The signature value sits just before the 12-byte struct and the 28-byte marker.
  data[data.length - 40 - 10] ^= 0x01;
  const certs = [readFileSync('samples/keys/rsa.pem')];
  const r = await checkModule(await moduleFromBytes(data), { ...target, sigEnforce: true, certs, verifySignature: verifyModuleSignature });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['signature.invalid']);
  // the untouched signed module passes with the same target
  const ok = await checkModule(await readModuleFile('samples/ko/signed/hello.ko'), { ...target, sigEnforce: true, certs, verifySignature: verifyModuleSignature });
  t.is(ok.verdict, 'loads', JSON.stringify(errors(ok)));
});

test('an xz file with a CRC64 check: compression.xz-check (target decompresses xz in the kernel)', async (t) => {
  const mod = await readModuleFile('samples/ko/xz-crc64/hello.ko.xz');
  const r = await checkModule(mod, { ...target, inKernelDecompression: ['xz'] });
  t.is(r.verdict, 'fails');
  t.deepEqual(errors(r), ['compression.xz-check']);
  // the kbuild-style CRC32 copy is fine for the same target
  const good = await checkModule(await readModuleFile('samples/ko/hello.ko.xz'), { ...target, inKernelDecompression: ['xz'] });
  t.is(good.verdict, 'loads', JSON.stringify(errors(good)));
});
