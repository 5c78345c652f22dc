import test from 'ava';
import { memorySource } from '../../../lib/bytes/source.js';
import { KmodkitError } from '../../../lib/errors.js';
import type { ErrnoName } from '../../../lib/errno.js';
import { readElf, relocationsFor, section, sectionBytes, symbolTable } from '../../../lib/elf/file.js';
import { SHF_ALLOC, SHN_ABS, SHN_UNDEF, STB_GLOBAL, STB_LOCAL, STT_FUNC } from '../../../lib/elf/constants.js';
import { buildElf, cstrings, VARIANTS } from '../../helpers/elf-builder.js';

const MODINFO = cstrings('license=GPL', 'vermagic=6.1.0 SMP mod_unload ');

function sample(cls: 32 | 64, le: boolean, machine = 62) {
  return buildElf({
    class: cls,
    le,
    machine,
    sections: [
      { name: '.text', type: 1, data: new Uint8Array(16), flags: SHF_ALLOC | 4 },
      { name: '.modinfo', type: 1, data: MODINFO, flags: SHF_ALLOC },
      { name: '.data', type: 1, data: new Uint8Array(cls === 64 ? 16 : 8), flags: SHF_ALLOC | 1 },
      { name: '.bss', type: 8, size: 4096, flags: SHF_ALLOC | 1 },
    ],
    symbols: [
      { name: 'init_module', section: '.text', value: 0, size: 8, bind: STB_GLOBAL, type: STT_FUNC },
      { name: 'local_thing', section: '.data', value: 4, bind: STB_LOCAL },
      { name: 'printk', section: SHN_UNDEF, bind: STB_GLOBAL },
      { name: '__crc_foo', section: SHN_ABS, value: 0xdeadbeef, bind: STB_GLOBAL },
    ],
    relocs: [{ target: '.data', rela: cls === 64, entries: [{ offset: 0, type: 1, sym: 'init_module', addend: 4 }] }],
  });
}

for (const v of VARIANTS) {
  test(`${v.label}: header, sections, symbols and relocations decode`, (t) => {
    const elf = readElf(memorySource(sample(v.class, v.le)));
    t.is(elf.header.class, v.class);
    t.is(elf.header.le, v.le);
    t.is(elf.header.machine, 62);
    t.is(elf.header.type, 1);
    t.deepEqual(elf.sections.map((s) => s.name).slice(1, 5), ['.text', '.modinfo', '.data', '.bss']);
    t.deepEqual(sectionBytes(elf, '.modinfo'), MODINFO);
    t.is(section(elf, '.bss')!.size, 4096);
    t.deepEqual(sectionBytes(elf, '.bss'), new Uint8Array(0));
    const st = symbolTable(elf)!;
    t.is(st.symbols.length, 5);
    t.is(st.byName('__crc_foo')!.value, 0xdeadbeef);
    t.is(st.byName('__crc_foo')!.shndx, SHN_ABS);
    t.is(st.byName('printk')!.shndx, SHN_UNDEF);
    t.is(st.byName('init_module')!.type, STT_FUNC);
    t.is(st.byName('local_thing')!.bind, STB_LOCAL);
    t.is(st.byName('local_thing')!.value, 4);
    const data = section(elf, '.data')!;
    const [rel] = relocationsFor(elf, data.index);
    t.is(rel.rela, v.class === 64);
    t.is(rel.entries.length, 1);
    t.is(rel.entries[0].sym, 1);
    t.is(rel.entries[0].type, 1);
    if (v.class === 64) t.is(rel.entries[0].addend, 4);
  });
}

test('symbol table is not decoded until asked for (lazy)', (t) => {
  const elf = readElf(memorySource(sample(64, true)));
  t.is(elf.cache.symtab, undefined);
  sectionBytes(elf, '.modinfo');
  t.is(elf.cache.symtab, undefined);
  symbolTable(elf);
  t.truthy(elf.cache.symtab);
});

test('mips64 r_info layout: r_sym u32, then ssym, type3, type2, type bytes', (t) => {
  // Hand-assemble one RELA entry with the MIPS64 layout (little-endian).
  const rel = new Uint8Array(24);
  const dv = new DataView(rel.buffer);
  dv.setBigUint64(0, 8n, true);
  dv.setUint32(8, 1, true); // r_sym
  rel[12] = 0; // ssym
  rel[13] = 0; // type3
  rel[14] = 0; // type2
  rel[15] = 18; // R_MIPS_64
  dv.setBigInt64(16, -2n, true);
  const elf = buildElf({
    class: 64, le: true, machine: 8,
    sections: [
      { name: '.data', type: 1, data: new Uint8Array(16) },
      { name: '.rela.data', type: 4, data: rel, link: '.symtab', info: '.data' },
    ],
    symbols: [{ name: 'x', section: '.data' }],
  });
  const f = readElf(memorySource(elf));
  const [r] = relocationsFor(f, section(f, '.data')!.index);
  t.is(r.entries[0].sym, 1);
  t.is(r.entries[0].type, 18);
  t.is(r.entries[0].addend, -2);
  t.is(r.entries[0].offset, 8);
});

function expectElfError(t: import('ava').ExecutionContext, data: Uint8Array, errno: ErrnoName) {
  const e = t.throws(() => readElf(memorySource(data)), { instanceOf: KmodkitError }) as KmodkitError;
  t.is(e.errno, errno, e.message);
}

test('bad magic and tiny files are ENOEXEC; structural faults are EINVAL (as libkmod)', (t) => {
  expectElfError(t, new Uint8Array(0), 'ENOEXEC');
  expectElfError(t, new Uint8Array(16), 'ENOEXEC');
  expectElfError(t, new TextEncoder().encode('this is not an ELF file at all, not at all'), 'ENOEXEC');
  const good = sample(64, true);
  const badClass = good.slice(); badClass[4] = 3;
  expectElfError(t, badClass, 'EINVAL');
  const badData = good.slice(); badData[5] = 0;
  expectElfError(t, badData, 'EINVAL');
  expectElfError(t, good.slice(0, 64), 'EINVAL'); // header only: size must exceed the header
  const badShent = good.slice(); new DataView(badShent.buffer).setUint16(58, 40, true);
  expectElfError(t, badShent, 'EINVAL');
  const badShoff = good.slice(); new DataView(badShoff.buffer).setBigUint64(40, 0xffffffffffff0000n, true);
  expectElfError(t, badShoff, 'EINVAL');
  const badShnum = good.slice(); new DataView(badShnum.buffer).setUint16(60, 0xffff, true);
  expectElfError(t, badShnum, 'EINVAL');
  const badStrndx = good.slice(); new DataView(badStrndx.buffer).setUint16(62, 0, true);
  expectElfError(t, badStrndx, 'EINVAL');
});

test('truncation at every section boundary raises KmodkitError, never another type', (t) => {
  for (const v of VARIANTS) {
    const data = sample(v.class, v.le);
    const elf = readElf(memorySource(data));
    const cuts = new Set<number>([1, 4, 15, 16, 17, 51, 52, 53, 63, 64, 65, data.length - 1]);
    for (const s of elf.sections) {
      cuts.add(s.offset); cuts.add(s.offset + 1); cuts.add(s.offset + s.size); cuts.add(s.headerOffset); cuts.add(s.headerOffset + 1);
    }
    let errors = 0;
    for (const cut of cuts) {
      if (cut <= 0 || cut >= data.length) continue;
      try {
        const f = readElf(memorySource(data.slice(0, cut)));
        sectionBytes(f, '.modinfo');
        symbolTable(f);
      } catch (e) {
        t.true(e instanceof KmodkitError, `cut at ${cut}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
        errors++;
      }
    }
    t.true(errors > 5, `${v.label}: ${errors} truncations rejected`);
  }
});

test('section data out of range is skipped by name lookup and an error when read directly', (t) => {
  const data = sample(64, true);
  const elf = readElf(memorySource(data));
  const mi = section(elf, '.modinfo')!;
  const patched = data.slice();
  new DataView(patched.buffer).setBigUint64(mi.headerOffset + 32, BigInt(data.length), true); // sh_size
  const f = readElf(memorySource(patched));
  t.is(section(f, '.modinfo'), undefined);
  t.false(f.sections[mi.index].inFile);
});

test('symbol table with an out-of-range string table link is EELFSYMBOL', (t) => {
  const data = sample(32, false);
  const elf = readElf(memorySource(data));
  const st = elf.sections.find((s) => s.name === '.symtab')!;
  const patched = data.slice();
  new DataView(patched.buffer).setUint32(st.headerOffset + 24, 999, false); // sh_link (ELF32)
  const e = t.throws(() => symbolTable(readElf(memorySource(patched))), { instanceOf: KmodkitError }) as KmodkitError;
  t.is(e.code, 'EELFSYMBOL');
});
