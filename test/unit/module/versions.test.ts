import test from 'ava';
import { execFileSync } from 'node:child_process';
import { memorySource } from '../../../lib/bytes/source.js';
import { readElf } from '../../../lib/elf/file.js';
import { readModuleFile } from '../../../lib/io/open.js';
import {
  basicModversions, dumpModversionsKmod30, effectiveModversions, extendedModversions, modversionLine, modversionRaw, moduleVersions,
} from '../../../lib/module/versions.js';
import { buildElf, VARIANTS } from '../../helpers/elf-builder.js';

const SAMPLES = new URL('../../../../samples/ko/', import.meta.url);
const sample = (name: string) => new URL(name, SAMPLES).pathname;
const dec = new TextDecoder();

function hasModprobe(): boolean {
  try {
    execFileSync('modprobe', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** struct modversion_info records for the class and byte order. */
function records(cls: 32 | 64, le: boolean, entries: { crc: bigint | number; name: string | Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(entries.length * 64);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const o = i * 64;
    if (cls === 64) view.setBigUint64(o, BigInt(e.crc), le);
    else view.setUint32(o, Number(e.crc), le);
    const name = typeof e.name === 'string' ? new TextEncoder().encode(e.name) : e.name;
    out.set(name.subarray(0, 64 - cls / 8), o + cls / 8);
  });
  return out;
}

function elfWith(cls: 32 | 64, le: boolean, sections: { name: string; data: Uint8Array }[]) {
  return readElf(memorySource(buildElf({ class: cls, le, sections: sections.map((s) => ({ ...s, type: 1, flags: 2 })) })));
}

function u32s(le: boolean, values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v, le));
  return out;
}

test('real sample: hello.ko __versions', async (t) => {
  const mod = await readModuleFile(sample('hello.ko'));
  const list = basicModversions(mod.elf)!;
  t.deepEqual(list.map((v) => [v.name, v.crc, v.source]), [
    ['_printk', 0x92997ed8, 'basic'],
    ['__fentry__', 0xbdfb6dbb, 'basic'],
    ['__x86_return_thunk', 0x5b8239ca, 'basic'],
    ['param_ops_int', 0x69e0fbdc, 'basic'],
    ['module_layout', 0x9060323f, 'basic'],
  ]);
  t.is(modversionRaw(list[0]), 0x92997ed8n);
  t.is(extendedModversions(mod.elf), null);
  t.deepEqual(moduleVersions(mod.elf).extended, null);
  t.deepEqual(effectiveModversions(mod.elf)!.map((v) => v.name), list.map((v) => v.name));
});

test('real samples: dump equals kmod 30 modprobe --dump-modversions (every format)', async (t) => {
  const names = ['hello', 'kmodkit_consumer', 'kmodkit_exporter', 'kmodkit_initfail', 'kmodkit_nsmissing', 'kmodkit_params'];
  const live = hasModprobe();
  for (const n of names) {
    const ref = live ? execFileSync('modprobe', ['--dump-modversions', sample(`${n}.ko`)]) : null;
    for (const ext of ['.ko', '.ko.gz', '.ko.xz', '.ko.zst']) {
      const mod = await readModuleFile(sample(n + ext));
      const ours = dumpModversionsKmod30(mod.elf);
      t.true(dec.decode(ours).endsWith('0x9060323f\tmodule_layout\n'), `${n}${ext}`);
      if (ref) t.deepEqual(Buffer.from(ours), ref, `${n}${ext}`);
    }
  }
  if (!live) t.log('modprobe not installed: compared the shape only');
});

for (const v of VARIANTS) {
  test(`${v.label}: __versions records, CRC width and leading dot`, (t) => {
    const crc = v.class === 64 ? 0x1_0000_abcdn : 0xabcd;
    const elf = elfWith(v.class, v.le, [{ name: '__versions', data: records(v.class, v.le, [{ crc, name: '.dotted' }, { crc: 0xffffffff, name: 'x'.repeat(64 - v.class / 8 - 1) }]) }]);
    const list = basicModversions(elf)!;
    t.is(list.length, 2);
    t.is(list[0].name, 'dotted');
    t.is(list[0].crc, 0xabcd);
    t.is(modversionRaw(list[0]), BigInt(crc));
    t.is(list[1].name.length, 64 - v.class / 8 - 1);
    t.is(list[1].crc, 0xffffffff);
    // kmod prints the whole field: 0x%08llx
    t.is(dec.decode(modversionLine(list[0])), v.class === 64 ? '0x10000abcd\tdotted\n' : '0x0000abcd\tdotted\n');
    t.is(dec.decode(dumpModversionsKmod30(elf)).split('\n').length, 3);
  });
}

test('empty __versions gives no entries; missing gives null and ENOSECTION/ENOENT for the dump', (t) => {
  t.deepEqual(basicModversions(elfWith(64, true, [{ name: '__versions', data: new Uint8Array(0) }])), []);
  const none = elfWith(64, true, [{ name: '.data', data: new Uint8Array(8) }]);
  t.is(basicModversions(none), null);
  t.is(effectiveModversions(none), null);
  t.throws(() => dumpModversionsKmod30(none), { code: 'ENOSECTION', message: /no __versions/ } as never);
  const e = t.throws(() => dumpModversionsKmod30(none)) as { errno?: string };
  t.is(e.errno, 'ENOENT');
});

test('hostile: __versions size not a multiple of 64', (t) => {
  const elf = elfWith(64, true, [{ name: '__versions', data: new Uint8Array(100) }]);
  t.throws(() => basicModversions(elf), { code: 'EVERSIONS', message: '__versions size 100 is not a multiple of 64' } as never);
  t.throws(() => dumpModversionsKmod30(elf), { code: 'EVERSIONS' } as never);
});

test('hostile: unterminated name: strict error, kmod 30 reads on to the next NUL', (t) => {
  const full = new Uint8Array(56).fill(0x41); // 56 'A', no NUL in the field
  const data = records(64, true, [{ crc: 1, name: full }, { crc: 0, name: 'next' }]);
  const elf = elfWith(64, true, [{ name: '__versions', data }]);
  t.throws(() => basicModversions(elf), { code: 'EVERSIONS', message: /not NUL-terminated/ } as never);
  // kmod 30 uses strlen: the name runs into the next record's CRC (8 zero bytes end it).
  const list = basicModversions(elf, { overrun: true })!;
  t.is(list[0].name, 'A'.repeat(56));
  t.is(list[1].name, 'next');
  // last record unterminated up to the end of the file data
  const last = elfWith(64, true, [{ name: '__versions', data: records(64, true, [{ crc: 1, name: full }]) }]);
  t.notThrows(() => dumpModversionsKmod30(last)); // the section header table (with zeros) follows
});

test('extended modversions: both tables, dot stripping, more names than CRCs', (t) => {
  const enc = new TextEncoder();
  for (const le of [true, false]) {
    const elf = elfWith(64, le, [
      { name: '__version_ext_crcs', data: u32s(le, [0x11111111, 0xdeadbeef]) },
      { name: '__version_ext_names', data: enc.encode('a_very_long_rust_symbol_name_' + 'x'.repeat(80) + '\0.dotted\0extra\0') },
      { name: '__versions', data: records(64, le, [{ crc: 5, name: 'dotted' }]) },
    ]);
    const ext = extendedModversions(elf)!;
    t.is(ext.length, 2);
    t.is(ext[0].name.length, 29 + 80);
    t.is(ext[0].crc, 0x11111111);
    t.is(ext[1].name, 'dotted');
    t.is(ext[1].crc, 0xdeadbeef);
    t.is(ext[1].source, 'extended');
    t.deepEqual(effectiveModversions(elf)!.map((v) => v.source), ['extended', 'extended']);
    // kmod 30 knows only __versions
    t.is(dec.decode(dumpModversionsKmod30(elf)), '0x00000005\tdotted\n');
  }
});

test('hostile: extended tables', (t) => {
  const enc = new TextEncoder();
  const onlyCrcs = elfWith(64, true, [{ name: '__version_ext_crcs', data: u32s(true, [1]) }]);
  t.throws(() => extendedModversions(onlyCrcs), { code: 'EVERSIONS', message: 'extended version crc+name presence does not match' } as never);
  const onlyNames = elfWith(64, true, [{ name: '__version_ext_names', data: enc.encode('a\0') }]);
  t.throws(() => extendedModversions(onlyNames), { code: 'EVERSIONS' } as never);
  const fewNames = elfWith(64, true, [{ name: '__version_ext_crcs', data: u32s(true, [1, 2, 3]) }, { name: '__version_ext_names', data: enc.encode('a\0b\0') }]);
  t.throws(() => extendedModversions(fewNames), { code: 'EVERSIONS', message: /more extended version crcs/ } as never);
  const unterminated = elfWith(64, true, [{ name: '__version_ext_crcs', data: u32s(true, [1, 2]) }, { name: '__version_ext_names', data: enc.encode('a\0bcd') }]);
  t.throws(() => extendedModversions(unterminated), { code: 'EVERSIONS' } as never);
  // a trailing partial CRC is ignored, as the kernel does
  const partial = elfWith(64, true, [{ name: '__version_ext_crcs', data: new Uint8Array([1, 0, 0, 0, 9, 9]) }, { name: '__version_ext_names', data: enc.encode('a\0') }]);
  t.deepEqual(extendedModversions(partial)!.map((v) => [v.name, v.crc]), [['a', 1]]);
});

test('CLI: kmodkit versions prints kmod output per file, one error line per bad file, exit 1', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const cli = new URL('../../../cli/index.js', import.meta.url).pathname;
  const ok = spawnSync(process.execPath, [cli, 'versions', sample('hello.ko'), sample('kmodkit_exporter.ko.zst')]);
  t.is(ok.status, 0);
  // Several files: each list follows a "FILE:" header; one file: kmod's output alone.
  const expected = Buffer.concat([
    Buffer.from(`${sample('hello.ko')}:\n`),
    Buffer.from(dumpModversionsKmod30((await readModuleFile(sample('hello.ko'))).elf)),
    Buffer.from(`\n${sample('kmodkit_exporter.ko.zst')}:\n`),
    Buffer.from(dumpModversionsKmod30((await readModuleFile(sample('kmodkit_exporter.ko'))).elf)),
  ]);
  t.deepEqual(ok.stdout, expected);
  const single = spawnSync(process.execPath, [cli, 'versions', sample('hello.ko')]);
  t.deepEqual(single.stdout, Buffer.from(dumpModversionsKmod30((await readModuleFile(sample('hello.ko'))).elf)));
  const bad = spawnSync(process.execPath, [cli, 'versions', '/nonexistent.ko', sample('hello.ko'), sample('BUILD-INFO')]);
  t.is(bad.status, 1);
  t.true(bad.stdout.toString().startsWith(`${sample('hello.ko')}:\n0x92997ed8\t_printk\n`));
  const errs = bad.stderr.toString().trim().split('\n');
  t.is(errs.length, 2);
  // a file that cannot be read: every command's style; what kmod reports about the module itself: modprobe --dump-modversions' wording after "kmodkit versions: "
  t.is(errs[0], 'kmodkit: /nonexistent.ko: No such file or directory');
  t.is(errs[1], `kmodkit versions: could not get modversions of ${sample('BUILD-INFO')}: Exec format error`);
  const json = spawnSync(process.execPath, [cli, 'versions', '--json', sample('hello.ko')]);
  const obj = JSON.parse(json.stdout.toString());
  t.is(obj.schemaVersion, 2);
  t.is(obj.file, sample('hello.ko'));
  t.is(obj.basic.length, 5);
  t.is(obj.extended, null);
  t.deepEqual(obj.basic[4], { name: 'module_layout', crc: '0x9060323f' });
});
