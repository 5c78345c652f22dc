import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { memorySource } from '../../../lib/bytes/source.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { inspectModule, type InspectDocument } from '../../../lib/module/inspect.js';
import { readModule } from '../../../lib/module/module.js';
import { buildElf, cstrings } from '../../helpers/elf-builder.js';

const ko = (n: string) => new URL(`../../../../samples/ko/${n}`, import.meta.url).pathname;
const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;

test('kmodkit_params.ko: a complete, JSON-round-trippable document without errors', async (t) => {
  const d = inspectModule(await readModuleFile(ko('kmodkit_params.ko')), { path: 'x.ko' });
  t.deepEqual(JSON.parse(JSON.stringify(d)), d);
  t.is(d.schemaVersion, 2);
  t.deepEqual(d.errors, []);
  t.is(d.file, 'x.ko');
  t.deepEqual(d.compression, { format: 'none', storedSize: d.compression.imageSize, imageSize: d.compression.imageSize });
  t.like(d.identity, {
    name: 'kmodkit_params', nameSource: 'modinfo', version: '0.1', srcversion: '2F0C47B3583E24A13ABF258',
    vermagic: '6.1.0-56-amd64 SMP preempt mod_unload modversions ', license: 'Dual MIT/GPL', gplCompatible: true,
    intree: false, retpoline: true, staging: false, depends: [], importNs: [], aliases: [],
  });
  t.deepEqual(d.elf, { class: 64, endianness: 'little', machine: 62, machineName: 'x86_64', flags: 0, sectionCount: 53 });
  t.is(d.layout!.thisModule.size, 896);
  t.deepEqual(d.layout!.init!.functions, ['kmodkit_params_init']);
  t.is(d.parameters!.params.length, 19);
  t.is(d.modversions!.basic!.length, 19);
  t.is(d.modversions!.extended, null);
  t.deepEqual(d.exports, []);
  t.true(d.imports!.some((i) => i.name === 'param_array_ops' && /^0x[0-9a-f]{8}$/.test(i.crc!)));
  t.deepEqual(d.signature, { signed: false });
  t.is(d.buildId, '80a986413990d1270cd5ccc55238fbb07fc6eff2');
  t.deepEqual(d.btf, { present: false, base: false });
  t.deepEqual(d.taints!.map((x) => x.letter), ['O', 'E']);
  t.true(d.modinfo!.some((e) => e.key === 'parmtype' && e.value === 'intarr:array of int'));
});

test('compressed and signed samples; exports of the exporter', async (t) => {
  const xz = inspectModule(await readModuleFile(ko('kmodkit_exporter.ko.xz')));
  t.is(xz.file, null);
  t.is(xz.compression.format, 'xz');
  t.true(xz.compression.storedSize < xz.compression.imageSize);
  t.is(typeof xz.compression.xzCheck, 'string');
  t.deepEqual(xz.exports!.map((e) => [e.name, e.gplOnly, e.namespace]), [
    ['kmodkit_exp_add', false, null], ['kmodkit_exp_counter', false, null], ['kmodkit_exp_gpl', true, null], ['kmodkit_exp_ns', true, 'KMODKIT_TEST'],
  ]);
  const signed = inspectModule(await readModuleFile(ko('signed/kmodkit_params.ko')));
  t.like(signed.signature, { signed: true, idType: 'PKCS#7', hashAlgorithm: 'sha256', kernelFormatOk: true });
  t.deepEqual(signed.taints!.map((x) => x.letter), ['O']);
  t.deepEqual(signed.errors, []);
});

test('a failing part is recorded in errors; the other parts survive', (t) => {
  const bytes = buildElf({
    class: 64, le: true, machine: 62,
    sections: [
      { name: '__param', type: 1, flags: 2, data: new Uint8Array(7) },
      { name: '__versions', type: 1, flags: 2, data: new Uint8Array(65) },
      { name: '.modinfo', type: 1, flags: 2, data: cstrings('license=GPL', 'name=broken', 'intree=Y', 'alias=pci:v*', 'softdep=pre: a b post: c', 'import_ns=NS1', 'firmware=fw.bin') },
    ],
    symbols: [{ name: 'printk', bind: 1, section: 0 }],
  });
  const d = inspectModule(readModule(memorySource(bytes)));
  t.deepEqual(JSON.parse(JSON.stringify(d)), d);
  t.deepEqual(d.errors.map((e) => [e.part, e.code]), [['parameters', 'EFORMAT'], ['modversions', 'EVERSIONS'], ['imports', 'EVERSIONS']]);
  t.is(d.parameters, null);
  t.is(d.modversions, null);
  t.like(d.identity, { name: 'broken', intree: true, importNs: ['NS1'], aliases: ['pci:v*'], firmware: ['fw.bin'] });
  t.deepEqual(d.identity!.softdeps, [{ raw: 'pre: a b post: c', pre: ['a', 'b'], post: ['c'] }]);
  t.is(d.layout!.thisModule.count, 0);
  t.deepEqual(d.taints!.map((x) => x.letter + (x.condition ? '?' : '')), ['E?']);
  t.deepEqual(inspectModule(readModule(memorySource(bytes)), { moduleSig: false }).taints, []);
});

test('no .modinfo: recorded, identity still built from struct module', (t) => {
  const tm = new Uint8Array(64);
  tm.set(new TextEncoder().encode('bare'), 12);
  const d = inspectModule(readModule(memorySource(buildElf({ class: 32, le: false, machine: 20, sections: [{ name: '.gnu.linkonce.this_module', type: 1, flags: 3, data: tm }] }))));
  t.deepEqual(d.errors.map((e) => [e.part, e.code]), [['modinfo', 'EMODINFO']]);
  t.is(d.modinfo, null);
  t.like(d.identity, { name: 'bare', nameSource: 'this_module', license: null, gplCompatible: false });
  t.like(d.elf, { class: 32, endianness: 'big', machineName: 'powerpc' });
});

test('random corruption anywhere in a real module: readModule may refuse, inspectModule never throws nor fails internally', (t) => {
  const orig = readFileSync(ko('kmodkit_params.ko'));
  let seed = 4242;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let docs = 0;
  for (let i = 0; i < 150; i++) {
    const b = new Uint8Array(orig);
    const n = 1 + Math.floor(rnd() * 32);
    for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    // also hit the section headers and the small tables where most structure lives
    for (let k = 0; k < 4; k++) b[0x34308 + Math.floor(rnd() * 53 * 64)] = Math.floor(rnd() * 256);
    let mod;
    try {
      mod = readModule(memorySource(b));
    } catch (e) {
      t.true(isKmodkitError(e));
      continue;
    }
    let d: InspectDocument;
    try {
      d = inspectModule(mod);
    } catch (e) {
      t.fail(`iteration ${i}: inspectModule threw ${(e as Error).stack}`);
      continue;
    }
    docs++;
    const internal = d.errors.filter((e) => e.code === 'EINTERNAL');
    if (internal.length) t.fail(`iteration ${i}: ${JSON.stringify(internal)}`);
    JSON.stringify(d);
  }
  t.true(docs > 0);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('CLI inspect: text, --json (one document per line), error documents, --ndjson synonym', (t) => {
  const text = cli('inspect', ko('hello.ko'));
  t.is(text.status, 0);
  for (const h of ['Identity', 'ELF', 'Layout', 'Build', 'Signature', 'Parameters (1)', 'Taints on load']) t.true(text.stdout.includes(`\n${h}\n`), h);
  const one = JSON.parse(cli('inspect', '--json', ko('hello.ko')).stdout);
  t.is(one.schemaVersion, 2);
  t.is(one.file, ko('hello.ko'));
  t.is(one.identity.name, 'hello');
  const many = cli('inspect', '--json', ko('hello.ko'), ko('nope.ko'), ko('kmodkit_params.ko.gz'));
  t.is(many.status, 1);
  t.is(many.stderr.trim().split('\n').length, 1);
  t.regex(many.stderr, /^kmodkit: .*nope\.ko: /);
  const docs = many.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(docs.map((d) => d.identity?.name ?? d.error.code), ['hello', 'ENOENT', 'kmodkit_params']);
  t.deepEqual(docs[1], { schemaVersion: 2, file: ko('nope.ko'), error: { code: 'ENOENT', message: docs[1].error.message } });
  const nd = cli('inspect', '--ndjson', ko('hello.ko'), ko('hello.ko.zst'));
  const lines = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(lines.map((d: InspectDocument) => d.compression.format), ['none', 'zstd']);
});

test('CLI params: table, mismatch marker, --json', (t) => {
  const r = cli('params', ko('kmodkit_params.ko'));
  t.is(r.status, 0);
  t.regex(r.stdout, /^NAME +TYPE +PERM +DESCRIPTION$/m);
  t.regex(r.stdout, /^intarr +array of int \[4\] +0444 +Up to 4 ints, comma separated$/m);
  t.regex(r.stdout, /^strval +string \[16\] +0644 /m);
  t.regex(r.stdout, /^mode +custom \(mode_ops\) +0644 /m);
  const two = cli('params', ko('hello.ko'), ko('hello.ko.xz'));
  t.is(two.stdout.split('\n').filter((l) => l.endsWith('.ko:') || l.endsWith('.ko.xz:')).length, 2);
  t.true(two.stdout.startsWith(`${ko('hello.ko')}:\nNAME`));
  t.true(two.stdout.includes(`\n\n${ko('hello.ko.xz')}:\nNAME`));
  const j = JSON.parse(cli('params', '--json', ko('hello.ko.xz')).stdout);
  t.deepEqual(j.params.map((p: { name: string; type: string }) => [p.name, p.type]), [['repeat', 'int']]);
  const bad = cli('params', ko('nope.ko'));
  t.is(bad.status, 1);
  t.is(bad.stdout, '');
});
