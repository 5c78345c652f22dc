import test from 'ava';
import { memorySource } from '../../../lib/bytes/source.js';
import { KmodkitError } from '../../../lib/errors.js';
import { readElf, section, type ElfFile } from '../../../lib/elf/file.js';
import { EM, SHN_ABS, STB_GLOBAL, STB_LOCAL, STT_OBJECT, STT_SECTION } from '../../../lib/elf/constants.js';
import {
  fieldTarget, readPointerField, relocationIndex, targetBytes, targetString, targetSymbolName,
} from '../../../lib/elf/relocate.js';
import { buildElf, cstrings, type RelocSpec, type SymbolSpec } from '../../helpers/elf-builder.js';

const STRINGS = cstrings('hello', 'world');

interface Arch {
  label: string;
  machine: number;
  class: 32 | 64;
  le: boolean;
  rela: boolean;
  ptr: number; // pointer-size absolute type
  pc32: number; // 32-bit PC-relative type
  abs32: number;
}

const ARCHES: Arch[] = [
  { label: 'x86_64', machine: EM.X86_64, class: 64, le: true, rela: true, ptr: 1, pc32: 2, abs32: 10 },
  { label: 'i386 (REL)', machine: EM.I386, class: 32, le: true, rela: false, ptr: 1, pc32: 2, abs32: 1 },
  { label: 'arm (REL)', machine: EM.ARM, class: 32, le: true, rela: false, ptr: 2, pc32: 3, abs32: 2 },
  { label: 'arm BE8/BE32 (REL)', machine: EM.ARM, class: 32, le: false, rela: false, ptr: 2, pc32: 3, abs32: 38 },
  { label: 'arm64', machine: EM.AARCH64, class: 64, le: true, rela: true, ptr: 257, pc32: 261, abs32: 258 },
  { label: 'arm64 BE', machine: EM.AARCH64, class: 64, le: false, rela: true, ptr: 257, pc32: 261, abs32: 258 },
  { label: 's390x', machine: EM.S390, class: 64, le: false, rela: true, ptr: 22, pc32: 5, abs32: 4 },
  { label: 'ppc64le (ELFv2)', machine: EM.PPC64, class: 64, le: true, rela: true, ptr: 38, pc32: 26, abs32: 1 },
  { label: 'ppc64 BE (ELFv1)', machine: EM.PPC64, class: 64, le: false, rela: true, ptr: 38, pc32: 26, abs32: 1 },
  { label: 'ppc32', machine: EM.PPC, class: 32, le: false, rela: true, ptr: 1, pc32: 26, abs32: 1 },
  { label: 'mips32 BE (REL)', machine: EM.MIPS, class: 32, le: false, rela: false, ptr: 2, pc32: 248, abs32: 2 },
  { label: 'mips32 LE (REL)', machine: EM.MIPS, class: 32, le: true, rela: false, ptr: 2, pc32: 248, abs32: 2 },
  { label: 'riscv64', machine: EM.RISCV, class: 64, le: true, rela: true, ptr: 2, pc32: 57, abs32: 1 },
  { label: 'loongarch64', machine: EM.LOONGARCH, class: 64, le: true, rela: true, ptr: 2, pc32: 99, abs32: 1 },
  { label: 'sparc64', machine: EM.SPARCV9, class: 64, le: false, rela: true, ptr: 32, pc32: 6, abs32: 3 },
  { label: 'parisc', machine: EM.PARISC, class: 32, le: false, rela: true, ptr: 1, pc32: 9, abs32: 1 },
];

/** Write v at off into a byte array, as `size` bytes in the given order. */
function put(buf: Uint8Array, off: number, size: number, v: number, le: boolean): void {
  const big = BigInt.asUintN(size * 8, BigInt(v));
  for (let i = 0; i < size; i++) {
    const byte = Number((big >> BigInt(8 * i)) & 0xffn);
    buf[le ? off + i : off + size - 1 - i] = byte;
  }
}

const SYMBOLS: SymbolSpec[] = [
  { name: '', section: '.rodata', type: STT_SECTION, bind: STB_LOCAL },
  { name: 'greeting', section: '.rodata', value: 0, bind: STB_LOCAL, type: STT_OBJECT },
  { name: 'world_str', section: '.rodata', value: 6, bind: STB_GLOBAL, type: STT_OBJECT },
  { name: '__crc_thing', section: SHN_ABS, value: 0x12345678, bind: STB_GLOBAL },
];

/**
 * .data layout: [0] pointer -> world_str, [P] pointer literal 0x55,
 * [2P] pc32 -> section+6 ("world"), [2P+4] abs32 -> __crc_thing
 */
function archSample(a: Arch): ElfFile {
  const P = a.class / 8;
  const data = new Uint8Array(2 * P + 8);
  put(data, P, P, 0x55, a.le);
  const entries: RelocSpec[] = [
    { offset: 0, type: a.ptr, sym: 'world_str', addend: 0 },
    { offset: 2 * P, type: a.pc32, sym: 1, addend: 6 },
    { offset: 2 * P + 4, type: a.abs32, sym: '__crc_thing', addend: 0 },
  ];
  if (!a.rela) put(data, 2 * P, 4, 6, a.le); // implicit addend of the section-relative field
  if (a.machine === EM.SPARCV9) entries[0] = { ...entries[0], type: a.ptr | (0x1234 << 8) }; // type data in upper bits
  return readElf(memorySource(buildElf({
    class: a.class,
    le: a.le,
    machine: a.machine,
    sections: [
      { name: '.rodata', type: 1, data: STRINGS, flags: 2 },
      { name: '.data', type: 1, data, flags: 3 },
    ],
    symbols: SYMBOLS,
    relocs: [{ target: '.data', rela: a.rela, entries }],
  })));
}

for (const a of ARCHES) {
  test(`${a.label}: pointer, literal, PC-relative and 32-bit fields`, (t) => {
    const elf = archSample(a);
    const P = a.class / 8;
    const d = section(elf, '.data')!.index;
    const ptr = readPointerField(elf, d, 0);
    t.truthy(ptr.target);
    t.is(ptr.target!.symbol.name, 'world_str');
    t.is(ptr.target!.addend, 0);
    t.is(ptr.target!.kind, 'abs');
    t.is(ptr.target!.size, P as 4 | 8);
    t.is(targetString(elf, ptr.target!), 'world');
    t.is(targetSymbolName(elf, ptr.target!), 'world_str');

    t.deepEqual(readPointerField(elf, d, P), { literal: 0x55 });
    t.is(fieldTarget(elf, d, P), null);

    const pc = fieldTarget(elf, d, 2 * P)!;
    t.is(pc.kind, 'pcrel');
    t.is(pc.size, 4);
    t.is(pc.symbol.type, STT_SECTION);
    t.is(pc.addend, 6);
    t.is(targetString(elf, pc), 'world');
    t.is(targetSymbolName(elf, pc), 'world_str');

    const crc = fieldTarget(elf, d, 2 * P + 4)!;
    t.is(crc.kind, 'abs');
    t.is(crc.symbol.shndx, SHN_ABS);
    t.is(crc.symbol.value + crc.addend, 0x12345678);
  });
}

test('the relocation index is built once per section', (t) => {
  const elf = archSample(ARCHES[0]);
  const d = section(elf, '.data')!.index;
  t.is(relocationIndex(elf, d), relocationIndex(elf, d));
  t.deepEqual(Object.keys(elf.cache.fieldRelocs), [String(d)]);
});

function one(machine: number, cls: 32 | 64, entries: RelocSpec[], opts: { rela?: boolean; le?: boolean; data?: Uint8Array; extraSections?: { name: string; type: number; data: Uint8Array }[] } = {}): ElfFile {
  return readElf(memorySource(buildElf({
    class: cls,
    le: opts.le ?? true,
    machine,
    sections: [
      { name: '.rodata', type: 1, data: STRINGS, flags: 2 },
      { name: '.data', type: 1, data: opts.data ?? new Uint8Array(16), flags: 3 },
      ...(opts.extraSections ?? []),
    ],
    symbols: [...SYMBOLS, { name: '.Ldata', section: '.data', value: 0, bind: STB_LOCAL }, { name: 'other', section: '.data', value: 12, bind: STB_LOCAL }],
    relocs: [{ target: '.data', rela: opts.rela ?? true, entries }],
  })));
}

for (const [label, machine, add, sub, relax] of [['riscv64', EM.RISCV, 35, 39, 51], ['loongarch64', EM.LOONGARCH, 50, 55, 100]] as const) {
  test(`${label}: ADD32/SUB32 pair against the field itself is PC-relative`, (t) => {
    const elf = one(machine, 64, [
      { offset: 4, type: add, sym: 'world_str', addend: 0 },
      { offset: 4, type: sub, sym: '.Ldata', addend: 4 },
      { offset: 4, type: relax, sym: 0 },
    ]);
    const d = section(elf, '.data')!.index;
    const f = fieldTarget(elf, d, 4)!;
    t.is(f.kind, 'pcrel');
    t.is(f.symbol.name, 'world_str');
    t.is(f.minus, undefined);
    t.is(targetString(elf, f), 'world');
  });

  test(`${label}: ADD32/SUB32 pair of two other symbols is a difference`, (t) => {
    const elf = one(machine, 64, [
      { offset: 4, type: add, sym: 'world_str', addend: 1 },
      { offset: 4, type: sub, sym: 'other', addend: 0 },
    ]);
    const f = fieldTarget(elf, section(elf, '.data')!.index, 4)!;
    t.is(f.kind, 'abs');
    t.is(f.addend, 1);
    t.is(f.minus?.symbol.name, 'other');
    t.throws(() => targetString(elf, f), { instanceOf: KmodkitError, code: 'EELFRELOC' } as never);
  });

  test(`${label}: an unpaired ADD32 is an error`, (t) => {
    const elf = one(machine, 64, [{ offset: 4, type: add, sym: 'world_str' }]);
    t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 4), { code: 'EELFRELOC', message: /unpaired/ } as never);
  });
}

test('mips64 (n64 r_info layout, both byte orders)', (t) => {
  for (const le of [true, false]) {
    // Elf64_Rela with r_info = { u32 r_sym; u8 r_ssym, r_type3, r_type2, r_type }
    const rela = new Uint8Array(2 * 24);
    const entry = (i: number, offset: number, sym: number, type: number, addend: number, type2 = 0) => {
      const o = i * 24;
      put(rela, o, 8, offset, le);
      put(rela, o + 8, 4, sym, le);
      rela[o + 13] = 0;
      rela[o + 14] = type2;
      rela[o + 15] = type;
      put(rela, o + 16, 8, addend, le);
    };
    entry(0, 0, 3, 18, 0); // R_MIPS_64 -> world_str
    entry(1, 8, 1, 2, 6, 18); // R_MIPS_32 composed with R_MIPS_64: unsupported
    const elf = readElf(memorySource(buildElf({
      class: 64,
      le,
      machine: EM.MIPS,
      sections: [
        { name: '.rodata', type: 1, data: STRINGS, flags: 2 },
        { name: '.data', type: 1, data: new Uint8Array(16), flags: 3 },
        { name: '.rela.data', type: 4, data: rela, link: '.symtab', info: '.data', entsize: 24 },
      ],
      symbols: SYMBOLS,
    })));
    const d = section(elf, '.data')!.index;
    const f = fieldTarget(elf, d, 0)!;
    t.is(f.symbol.name, 'world_str');
    t.is(f.typeName, 'R_MIPS_64');
    t.is(targetString(elf, f), 'world');
    t.throws(() => fieldTarget(elf, d, 8), { code: 'EELFRELOC', message: /composed/ } as never);
  }
});

test('ARM R_ARM_PREL31 sign-extends its 31-bit implicit addend', (t) => {
  const data = new Uint8Array(16);
  put(data, 0, 4, 0x7ffffffe | 0x80000000, true); // bit 31 is not part of the addend; value -2
  const elf = one(EM.ARM, 32, [{ offset: 0, type: 42, sym: 'world_str' }], { rela: false, data });
  t.is(fieldTarget(elf, section(elf, '.data')!.index, 0)!.addend, -2);
});

test('unknown relocation types are named in the error, never guessed', (t) => {
  const elf = one(EM.X86_64, 64, [{ offset: 0, type: 41, sym: 'world_str' }]);
  const e = t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 0), { instanceOf: KmodkitError }) as KmodkitError;
  t.is(e.code, 'EELFRELOC');
  t.is(e.message, 'unsupported relocation type 41 (R_X86_64_GOTPCRELX) for machine x86_64 at .data+0x0');
  const elf2 = one(EM.AARCH64, 64, [{ offset: 0, type: 999, sym: 'world_str' }]);
  t.throws(() => fieldTarget(elf2, section(elf2, '.data')!.index, 0), { message: 'unsupported relocation type 999 for machine aarch64 at .data+0x0' } as never);
  const elf3 = one(EM.ALPHA, 64, [{ offset: 0, type: 2, sym: 'world_str' }]);
  t.throws(() => fieldTarget(elf3, section(elf3, '.data')!.index, 0), { code: 'EELFRELOC', message: /machine alpha/ } as never);
});

test('hostile: relocation offset outside the section', (t) => {
  const elf = one(EM.X86_64, 64, [{ offset: 16, type: 1, sym: 'world_str' }]);
  t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 0), { code: 'EELFRELOC', message: /outside section \.data/ } as never);
  const elf2 = one(EM.X86_64, 64, [{ offset: 2 ** 40, type: 1, sym: 'world_str' }]);
  t.throws(() => fieldTarget(elf2, section(elf2, '.data')!.index, 0), { code: 'EELFRELOC' } as never);
});

test('hostile: REL field running past the end of the section', (t) => {
  const elf = one(EM.I386, 32, [{ offset: 14, type: 1, sym: 'world_str' }], { rela: false });
  t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 14), { code: 'EELFRELOC', message: /runs past/ } as never);
});

test('hostile: symbol index out of range', (t) => {
  const elf = one(EM.X86_64, 64, [{ offset: 0, type: 1, sym: 4242 }]);
  t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 0), { code: 'EELFRELOC', message: /symbol 4242, out of range/ } as never);
});

test('hostile: conflicting relocations at one offset', (t) => {
  const elf = one(EM.X86_64, 64, [{ offset: 0, type: 1, sym: 'world_str' }, { offset: 0, type: 2, sym: 'world_str' }]);
  t.throws(() => fieldTarget(elf, section(elf, '.data')!.index, 0), { code: 'EELFRELOC', message: /conflicting/ } as never);
});

test('hostile: unterminated string and targets outside their section', (t) => {
  const unterminated = new TextEncoder().encode('abc');
  const elf = readElf(memorySource(buildElf({
    class: 64,
    le: true,
    sections: [
      { name: '.rodata', type: 1, data: unterminated, flags: 2 },
      { name: '.data', type: 1, data: new Uint8Array(16), flags: 3 },
    ],
    symbols: [{ name: 's', section: '.rodata', value: 0, bind: STB_LOCAL }, { name: 'u', section: 0, bind: STB_GLOBAL }],
    relocs: [{ target: '.data', entries: [{ offset: 0, type: 1, sym: 's' }, { offset: 8, type: 1, sym: 's', addend: 100 }] }],
  })));
  const d = section(elf, '.data')!.index;
  t.throws(() => targetString(elf, fieldTarget(elf, d, 0)!), { code: 'EFORMAT', message: /not NUL-terminated/ } as never);
  t.throws(() => targetString(elf, fieldTarget(elf, d, 8)!), { code: 'EFORMAT', message: /outside the section/ } as never);
  t.throws(() => targetBytes(elf, fieldTarget(elf, d, 0)!, 4), { code: 'EFORMAT' } as never);
  t.deepEqual([...targetBytes(elf, fieldTarget(elf, d, 0)!, 3)], [0x61, 0x62, 0x63]);
});

test('hostile: literal reads outside the section', (t) => {
  const elf = one(EM.X86_64, 64, []);
  const d = section(elf, '.data')!.index;
  t.throws(() => readPointerField(elf, d, 12), { code: 'EFORMAT' } as never);
  t.throws(() => readPointerField(elf, d, -1), { code: 'EFORMAT' } as never);
  t.throws(() => fieldTarget(elf, 999, 0), { code: 'EELFRELOC' } as never);
});
