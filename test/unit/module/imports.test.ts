import test from 'ava';
import { memorySource } from '../../../lib/bytes/source.js';
import { readElf } from '../../../lib/elf/file.js';
import { EM, SHN_UNDEF, STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_SPARC_REGISTER } from '../../../lib/elf/constants.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { moduleImports } from '../../../lib/module/imports.js';
import { buildElf, VARIANTS } from '../../helpers/elf-builder.js';

const sample = (name: string) => new URL(`../../../../samples/ko/${name}`, import.meta.url).pathname;

test('real sample: kmodkit_consumer imports the exporter symbols with their CRCs', async (t) => {
  const mod = await readModuleFile(sample('kmodkit_consumer.ko'));
  const list = moduleImports(mod.elf);
  const byName = Object.fromEntries(list.map((s) => [s.name, s]));
  t.deepEqual(Object.keys(byName).sort(), ['__fentry__', '__x86_return_thunk', '_printk', 'kmodkit_exp_add', 'kmodkit_exp_counter', 'kmodkit_exp_gpl', 'kmodkit_exp_ns']);
  t.deepEqual(byName.kmodkit_exp_ns, { name: 'kmodkit_exp_ns', weak: false, crc: 0x7deb0461, crcSource: 'basic' });
  t.is(byName.kmodkit_exp_add.crc, 0xb77841c1);
  t.is(byName.kmodkit_exp_gpl.crc, 0xe17eb26d);
  t.is(byName.kmodkit_exp_counter.crc, 0xe3df36e8);
  // module_layout is only in __versions, not an undefined symbol
  t.false('module_layout' in byName);
});

function records(cls: 32 | 64, le: boolean, entries: [number, string][]): Uint8Array {
  const out = new Uint8Array(entries.length * 64);
  const view = new DataView(out.buffer);
  entries.forEach(([crc, name], i) => {
    if (cls === 64) view.setBigUint64(i * 64, BigInt(crc), le);
    else view.setUint32(i * 64, crc, le);
    out.set(new TextEncoder().encode(name), i * 64 + cls / 8);
  });
  return out;
}

for (const v of VARIANTS) {
  test(`${v.label}: undefined GLOBAL/WEAK symbols, CRCs from __versions`, (t) => {
    const elf = readElf(memorySource(buildElf({
      class: v.class,
      le: v.le,
      sections: [
        { name: '.text', type: 1, data: new Uint8Array(8), flags: 6 },
        { name: '__versions', type: 1, data: records(v.class, v.le, [[0x1234, 'printk'], [0x99, 'module_layout'], [0x77, 'weakling']]), flags: 2 },
      ],
      symbols: [
        { name: 'init_module', section: '.text', bind: STB_GLOBAL, type: STT_FUNC },
        { name: 'printk', section: SHN_UNDEF, bind: STB_GLOBAL },
        { name: 'weakling', section: SHN_UNDEF, bind: STB_WEAK },
        { name: 'unversioned', section: SHN_UNDEF, bind: STB_GLOBAL },
        { name: 'local_undef', section: SHN_UNDEF, bind: STB_LOCAL },
        { name: '', section: SHN_UNDEF, bind: STB_GLOBAL },
      ],
    })));
    t.deepEqual(moduleImports(elf), [
      { name: 'printk', weak: false, crc: 0x1234, crcSource: 'basic' },
      { name: 'weakling', weak: true, crc: 0x77, crcSource: 'basic' },
      { name: 'unversioned', weak: false },
    ]);
  });
}

test('extended modversions take precedence over __versions', (t) => {
  const le = true;
  const crcs = new Uint8Array(8);
  new DataView(crcs.buffer).setUint32(0, 0xaaaa, le);
  new DataView(crcs.buffer).setUint32(4, 0xbbbb, le);
  const elf = readElf(memorySource(buildElf({
    class: 64,
    le,
    sections: [
      { name: '__versions', type: 1, data: records(64, le, [[0x1234, 'printk']]), flags: 2 },
      { name: '__version_ext_crcs', type: 1, data: crcs, flags: 2 },
      { name: '__version_ext_names', type: 1, data: new TextEncoder().encode('printk\0rust_long_name\0'), flags: 2 },
    ],
    symbols: [
      { name: 'printk', section: SHN_UNDEF, bind: STB_GLOBAL },
      { name: 'rust_long_name', section: SHN_UNDEF, bind: STB_GLOBAL },
    ],
  })));
  t.deepEqual(moduleImports(elf), [
    { name: 'printk', weak: false, crc: 0xaaaa, crcSource: 'extended' },
    { name: 'rust_long_name', weak: false, crc: 0xbbbb, crcSource: 'extended' },
  ]);
});

test('sparc: STT_REGISTER symbols are skipped; no symtab gives []', (t) => {
  const elf = readElf(memorySource(buildElf({
    class: 64,
    le: false,
    machine: EM.SPARCV9,
    sections: [{ name: '.text', type: 1, data: new Uint8Array(8), flags: 6 }],
    symbols: [
      { name: '%g2', section: SHN_UNDEF, bind: STB_GLOBAL, type: STT_SPARC_REGISTER },
      { name: 'memcpy', section: SHN_UNDEF, bind: STB_GLOBAL },
    ],
  })));
  t.deepEqual(moduleImports(elf), [{ name: 'memcpy', weak: false }]);
  const bare = readElf(memorySource(buildElf({ class: 32, le: true, sections: [{ name: '.text', type: 1, data: new Uint8Array(4) }] })));
  t.deepEqual(moduleImports(bare), []);
});
