import test from 'ava';
import { readFileSync } from 'node:fs';
import { memorySource } from '../../../lib/bytes/source.js';
import { readElf } from '../../../lib/elf/file.js';
import { EM, SHN_ABS, STB_GLOBAL, STB_LOCAL, STT_FUNC, STT_OBJECT, STT_SECTION } from '../../../lib/elf/constants.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { moduleExports } from '../../../lib/module/exports.js';
import { buildElf, type RelocSpec, type SectionSpec, type SymbolSpec } from '../../helpers/elf-builder.js';

const ROOT = new URL('../../../../samples/', import.meta.url);

/** Module.symvers lines: crc, symbol, module, type, namespace. */
function symvers(path: string): Map<string, { crc: number; type: string; ns: string }> {
  const out = new Map<string, { crc: number; type: string; ns: string }>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const [crc, sym, , type, ns] = line.split('\t');
    out.set(sym, { crc: Number(crc), type, ns: ns ?? '' });
  }
  return out;
}

test('real sample: kmodkit_exporter exports match Module.symvers (every format)', async (t) => {
  const ref = symvers(new URL('ko/Module.symvers', ROOT).pathname); // what modpost wrote when the samples were built
  for (const ext of ['.ko', '.ko.gz', '.ko.xz', '.ko.zst']) {
    const mod = await readModuleFile(new URL(`ko/kmodkit_exporter${ext}`, ROOT).pathname);
    const list = moduleExports(mod.elf);
    t.deepEqual(list.map((e) => e.name).sort(), [...ref.keys()].sort(), ext);
    for (const e of list) {
      const r = ref.get(e.name)!;
      t.is(e.crc, r.crc, e.name);
      t.is(e.license as string, r.type, e.name);
      t.is(e.namespace ?? '', r.ns, e.name);
      t.is(e.gplOnly, r.type === 'EXPORT_SYMBOL_GPL');
      t.is(e.valueSymbol, e.name);
      t.deepEqual(e.layout, { kind: 'pcrel', stride: 12 });
    }
    const ns = list.find((e) => e.name === 'kmodkit_exp_ns')!;
    t.is(ns.namespace, 'KMODKIT_TEST');
    t.is(ns.section, '__ksymtab_gpl');
  }
});

test('real samples: modules without exports give []', async (t) => {
  for (const n of ['hello', 'kmodkit_consumer', 'kmodkit_params']) {
    const mod = await readModuleFile(new URL(`ko/${n}.ko`, ROOT).pathname);
    t.deepEqual(moduleExports(mod.elf), [], n);
  }
});

// ---------------------------------------------------------------------------
// synthetic tables

interface Spec {
  machine: number;
  cls: 32 | 64;
  le: boolean;
  rela: boolean;
  kind: 'abs' | 'pcrel';
  ns: boolean;
  /** relocation types: pointer/PREL32 field, and the 32-bit absolute one used by __kcrctab */
  fieldType: number;
  abs32: number;
  crc: 'literal' | 'reloc' | 'symbol' | 'none';
  /** refer to strings through the section symbol (+offset) instead of __kstrtab_ labels */
  sectionSym?: boolean;
  entries: { name: string; ns?: string; gpl?: boolean }[];
  flagstab?: boolean;
}

const CRC = (name: string) => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

function put(buf: Uint8Array, off: number, size: number, v: number, le: boolean): void {
  const big = BigInt.asUintN(size * 8, BigInt(v));
  for (let i = 0; i < size; i++) buf[le ? off + i : off + size - 1 - i] = Number((big >> BigInt(8 * i)) & 0xffn);
}

function build(spec: Spec): Uint8Array {
  const P = spec.cls / 8;
  const F = spec.kind === 'pcrel' ? 4 : P;
  const stride = (spec.ns ? 3 : 2) * F;
  const enc = new TextEncoder();
  const strings: number[] = [];
  const symbols: SymbolSpec[] = [{ name: '', section: '__ksymtab_strings', type: STT_SECTION, bind: STB_LOCAL }];
  const tables: Record<string, { name: string; ns?: string; gpl?: boolean }[]> = { __ksymtab: [], __ksymtab_gpl: [] };
  for (const e of spec.entries) tables[e.gpl && !spec.flagstab ? '__ksymtab_gpl' : '__ksymtab'].push(e);
  const sections: SectionSpec[] = [{ name: '.text', type: 1, data: new Uint8Array(16 * spec.entries.length), flags: 6 }];
  const relocs: { target: string; rela: boolean; entries: RelocSpec[] }[] = [];
  const strOff = new Map<string, number>();
  const addString = (s: string, label: string) => {
    strOff.set(label, strings.length);
    symbols.push({ name: label, section: '__ksymtab_strings', value: strings.length, bind: STB_LOCAL, type: STT_OBJECT });
    strings.push(...enc.encode(s), 0);
  };
  spec.entries.forEach((e, i) => {
    symbols.push({ name: e.name, section: '.text', value: 16 * i, size: 8, bind: STB_GLOBAL, type: STT_FUNC });
    addString(e.name, `__kstrtab_${e.name}`);
    addString(e.ns ?? '', `__kstrtabns_${e.name}`);
    if (spec.crc === 'reloc' || spec.crc === 'symbol') symbols.push({ name: `__crc_${e.name}`, section: SHN_ABS, value: CRC(e.name), bind: STB_GLOBAL });
  });
  for (const [tab, list] of Object.entries(tables)) {
    if (list.length === 0) continue;
    const data = new Uint8Array(list.length * stride);
    const rel: RelocSpec[] = [];
    const field = (off: number, sym: string, addend: number) => {
      if (spec.rela) rel.push({ offset: off, type: spec.fieldType, sym, addend });
      else {
        put(data, off, F, addend, spec.le);
        rel.push({ offset: off, type: spec.fieldType, sym });
      }
    };
    const strRef = (off: number, label: string) => (spec.sectionSym ? field(off, '', strOff.get(label)!) : field(off, label, 0));
    list.forEach((e, i) => {
      const base = i * stride;
      field(base, e.name, 0);
      strRef(base + F, `__kstrtab_${e.name}`);
      if (spec.ns) {
        if (e.ns === undefined) put(data, base + 2 * F, F, 0, spec.le); // 5.4.0-style NULL namespace
        else strRef(base + 2 * F, `__kstrtabns_${e.name}`);
      }
    });
    sections.push({ name: tab, type: 1, data, flags: 2 });
    relocs.push({ target: tab, rela: spec.rela, entries: rel });
    const crcTab = tab.replace('__ksymtab', '__kcrctab');
    if (spec.crc === 'literal') {
      const c = new Uint8Array(4 * list.length);
      list.forEach((e, i) => put(c, 4 * i, 4, CRC(e.name), spec.le));
      sections.push({ name: crcTab, type: 1, data: c, flags: 2 });
    } else if (spec.crc === 'reloc') {
      sections.push({ name: crcTab, type: 1, data: new Uint8Array(4 * list.length), flags: 2 });
      relocs.push({ target: crcTab, rela: spec.rela, entries: list.map((e, i) => ({ offset: 4 * i, type: spec.abs32, sym: `__crc_${e.name}`, addend: 0 })) });
    }
  }
  if (spec.flagstab) sections.push({ name: '__kflagstab', type: 1, data: Uint8Array.from(tables.__ksymtab.map((e) => (e.gpl ? 1 : 0))), flags: 2 });
  sections.push({ name: '__ksymtab_strings', type: 1, data: Uint8Array.from(strings), flags: 0x32 });
  // symbol '' (index 1) is the section symbol of __ksymtab_strings
  return buildElf({
    class: spec.cls,
    le: spec.le,
    machine: spec.machine,
    sections,
    symbols,
    relocs: relocs.map((r) => ({ ...r, entries: r.entries.map((e) => ({ ...e, sym: e.sym === '' ? 1 : e.sym })) })),
  });
}

const ENTRIES = [
  { name: 'alpha_fn' },
  { name: 'beta_fn', gpl: true },
  { name: 'gamma_fn', gpl: true, ns: 'SOME_NS' },
  { name: 'delta_fn', ns: '' },
];

const CASES: { label: string; spec: Omit<Spec, 'entries'>; stride: number }[] = [
  { label: 'x86_64 PREL32 12-byte, literal CRCs (5.19+)', spec: { machine: EM.X86_64, cls: 64, le: true, rela: true, kind: 'pcrel', ns: true, fieldType: 2, abs32: 10, crc: 'literal' }, stride: 12 },
  { label: 'x86_64 PREL32 8-byte (4.19-5.3), __crc_ relocations', spec: { machine: EM.X86_64, cls: 64, le: true, rela: true, kind: 'pcrel', ns: false, fieldType: 2, abs32: 10, crc: 'reloc' }, stride: 8 },
  { label: 'x86_64 absolute 16-byte (<=4.18), section-symbol strings', spec: { machine: EM.X86_64, cls: 64, le: true, rela: true, kind: 'abs', ns: false, fieldType: 1, abs32: 10, crc: 'reloc', sectionSym: true }, stride: 16 },
  { label: 'i386 REL PREL32 12-byte, implicit addends', spec: { machine: EM.I386, cls: 32, le: true, rela: false, kind: 'pcrel', ns: true, fieldType: 2, abs32: 1, crc: 'reloc', sectionSym: true }, stride: 12 },
  { label: 'arm REL absolute 12-byte (32-bit with namespace)', spec: { machine: EM.ARM, cls: 32, le: true, rela: false, kind: 'abs', ns: true, fieldType: 2, abs32: 2, crc: 'literal', sectionSym: true }, stride: 12 },
  { label: 'arm REL absolute 8-byte, no kcrctab (__crc_ symbols)', spec: { machine: EM.ARM, cls: 32, le: true, rela: false, kind: 'abs', ns: false, fieldType: 2, abs32: 2, crc: 'symbol' }, stride: 8 },
  { label: 'arm64 BE PREL32 12-byte', spec: { machine: EM.AARCH64, cls: 64, le: false, rela: true, kind: 'pcrel', ns: true, fieldType: 261, abs32: 258, crc: 'literal' }, stride: 12 },
  { label: 's390x absolute 24-byte', spec: { machine: EM.S390, cls: 64, le: false, rela: true, kind: 'abs', ns: true, fieldType: 22, abs32: 4, crc: 'reloc' }, stride: 24 },
  { label: 'ppc64 BE absolute 24-byte', spec: { machine: EM.PPC64, cls: 64, le: false, rela: true, kind: 'abs', ns: true, fieldType: 38, abs32: 1, crc: 'literal', sectionSym: true }, stride: 24 },
  { label: 'ppc64le PREL32 12-byte', spec: { machine: EM.PPC64, cls: 64, le: true, rela: true, kind: 'pcrel', ns: true, fieldType: 26, abs32: 1, crc: 'reloc' }, stride: 12 },
  { label: 'mips32 BE REL absolute 12-byte', spec: { machine: EM.MIPS, cls: 32, le: false, rela: false, kind: 'abs', ns: true, fieldType: 2, abs32: 2, crc: 'reloc', sectionSym: true }, stride: 12 },
  { label: 'riscv64 absolute 24-byte', spec: { machine: EM.RISCV, cls: 64, le: true, rela: true, kind: 'abs', ns: true, fieldType: 2, abs32: 1, crc: 'literal' }, stride: 24 },
  { label: 'loongarch64 absolute 24-byte', spec: { machine: EM.LOONGARCH, cls: 64, le: true, rela: true, kind: 'abs', ns: true, fieldType: 2, abs32: 1, crc: 'none' }, stride: 24 },
  { label: 'sparc64 absolute 16-byte', spec: { machine: EM.SPARCV9, cls: 64, le: false, rela: true, kind: 'abs', ns: false, fieldType: 32, abs32: 3, crc: 'reloc' }, stride: 16 },
];

for (const c of CASES) {
  test(`exports: ${c.label}`, (t) => {
    const entries = c.spec.ns ? ENTRIES : ENTRIES.map(({ name, gpl }) => ({ name, gpl }));
    const elf = readElf(memorySource(build({ ...c.spec, entries })));
    const list = moduleExports(elf);
    t.deepEqual(list.map((e) => e.name), ['alpha_fn', 'delta_fn', 'beta_fn', 'gamma_fn']);
    for (const e of list) {
      const want = ENTRIES.find((x) => x.name === e.name)!;
      t.is(e.gplOnly, !!want.gpl);
      t.is(e.license, want.gpl ? 'EXPORT_SYMBOL_GPL' : 'EXPORT_SYMBOL');
      t.is(e.section, want.gpl ? '__ksymtab_gpl' : '__ksymtab');
      t.is(e.namespace, c.spec.ns && want.ns ? want.ns : undefined);
      t.is(e.crc, c.spec.crc === 'none' ? undefined : CRC(e.name));
      t.is(e.valueSymbol, e.name);
      t.deepEqual(e.layout, { kind: c.spec.kind, stride: c.stride });
    }
  });
}

test('exports: 24 bytes of PREL32 is two 12-byte entries or three 8-byte ones — decided by the third field', (t) => {
  const three = [{ name: 'a1' }, { name: 'a2' }, { name: 'a3' }];
  const base = { machine: EM.X86_64, cls: 64 as const, le: true, rela: true, kind: 'pcrel' as const, fieldType: 2, abs32: 10, crc: 'literal' as const };
  const noNs = moduleExports(readElf(memorySource(build({ ...base, ns: false, entries: three }))));
  t.deepEqual(noNs.map((e) => [e.name, e.layout.stride]), [['a1', 8], ['a2', 8], ['a3', 8]]);
  const two = [{ name: 'b1', ns: '' }, { name: 'b2', ns: 'NS2' }];
  const withNs = moduleExports(readElf(memorySource(build({ ...base, ns: true, entries: two }))));
  t.deepEqual(withNs.map((e) => [e.name, e.namespace, e.layout.stride]), [['b1', undefined, 12], ['b2', 'NS2', 12]]);
  // 5.4.0 style: NULL namespace (no relocation, literal 0) in the first entry
  const nullNs = moduleExports(readElf(memorySource(build({ ...base, ns: true, entries: [{ name: 'c1' }, { name: 'c2', ns: 'X' }] }))));
  t.deepEqual(nullNs.map((e) => [e.name, e.namespace, e.layout.stride]), [['c1', undefined, 12], ['c2', 'X', 12]]);
});

test('exports: __kflagstab marks GPL-only entries of __ksymtab', (t) => {
  const elf = readElf(memorySource(build({
    machine: EM.X86_64, cls: 64, le: true, rela: true, kind: 'pcrel', ns: true, fieldType: 2, abs32: 10, crc: 'literal', flagstab: true,
    entries: [{ name: 'free_fn', ns: '' }, { name: 'gpl_fn', ns: '', gpl: true }],
  })));
  t.deepEqual(moduleExports(elf).map((e) => [e.name, e.license, e.gplOnly, e.section]), [
    ['free_fn', 'EXPORT_SYMBOL', false, '__ksymtab'],
    ['gpl_fn', 'EXPORT_SYMBOL_GPL', true, '__ksymtab'],
  ]);
});

// ---------------------------------------------------------------------------
// hostile input

function hostile(mutate: (s: { sections: SectionSpec[]; symbols: SymbolSpec[]; relocs: RelocSpec[] }) => void): Uint8Array {
  const ksymtab = new Uint8Array(12);
  const s = {
    sections: [
      { name: '.text', type: 1, data: new Uint8Array(16), flags: 6 },
      { name: '__ksymtab', type: 1, data: ksymtab, flags: 2 },
      { name: '__ksymtab_strings', type: 1, data: new TextEncoder().encode('foo\0\0'), flags: 0x32 },
    ] as SectionSpec[],
    symbols: [
      { name: 'foo', section: '.text', value: 0, bind: STB_GLOBAL, type: STT_FUNC },
      { name: '__kstrtab_foo', section: '__ksymtab_strings', value: 0, bind: STB_LOCAL },
      { name: '__kstrtabns_foo', section: '__ksymtab_strings', value: 4, bind: STB_LOCAL },
    ] as SymbolSpec[],
    relocs: [
      { offset: 0, type: 2, sym: 'foo', addend: 0 },
      { offset: 4, type: 2, sym: '__kstrtab_foo', addend: 0 },
      { offset: 8, type: 2, sym: '__kstrtabns_foo', addend: 0 },
    ] as RelocSpec[],
  };
  mutate(s);
  return buildElf({ class: 64, le: true, sections: s.sections, symbols: s.symbols, relocs: [{ target: '__ksymtab', entries: s.relocs }] });
}

test('hostile: the baseline hostile fixture is valid', (t) => {
  t.deepEqual(moduleExports(readElf(memorySource(hostile(() => {})))).map((e) => e.name), ['foo']);
});

test('hostile: __ksymtab size fits no layout', (t) => {
  const elf = readElf(memorySource(hostile((s) => (s.sections[1].data = new Uint8Array(13)))));
  t.throws(() => moduleExports(elf), { code: 'EFORMAT', message: /not a multiple of a kernel_symbol entry/ } as never);
});

test('hostile: entry without relocations', (t) => {
  const elf = readElf(memorySource(hostile((s) => (s.relocs = [s.relocs[1], s.relocs[2]]))));
  t.throws(() => moduleExports(elf), { code: 'EFORMAT', message: /no relocation/ } as never);
});

test('hostile: unterminated name string', (t) => {
  const elf = readElf(memorySource(hostile((s) => {
    s.sections[2].data = new TextEncoder().encode('foo');
    s.symbols[2].value = 0;
  })));
  t.throws(() => moduleExports(elf), { code: 'EFORMAT', message: /not NUL-terminated/ } as never);
});

test('hostile: name relocation pointing outside the strings section', (t) => {
  const elf = readElf(memorySource(hostile((s) => (s.relocs[1].addend = 1000))));
  t.throws(() => moduleExports(elf), { code: 'EFORMAT', message: /outside the section/ } as never);
});

test('hostile: name relocation against an undefined symbol', (t) => {
  const elf = readElf(memorySource(hostile((s) => {
    s.symbols.push({ name: 'ext', section: 0, bind: STB_GLOBAL });
    s.relocs[1].sym = 'ext';
  })));
  t.throws(() => moduleExports(elf), { code: 'EELFRELOC', message: /not defined in a section/ } as never);
});

test('hostile: relocation offset outside __ksymtab and bad symbol index', (t) => {
  const a = readElf(memorySource(hostile((s) => s.relocs.push({ offset: 4096, type: 2, sym: 'foo' }))));
  t.throws(() => moduleExports(a), { code: 'EELFRELOC' } as never);
  const b = readElf(memorySource(hostile((s) => (s.relocs[0].sym = 999))));
  t.throws(() => moduleExports(b), { code: 'EELFRELOC', message: /out of range/ } as never);
});

test('hostile: __kcrctab that does not fit the entries', (t) => {
  const elf = readElf(memorySource(hostile((s) => s.sections.push({ name: '__kcrctab', type: 1, data: new Uint8Array(6), flags: 2 }))));
  t.throws(() => moduleExports(elf), { code: 'EFORMAT', message: /__kcrctab/ } as never);
});

test('hostile: unknown relocation type in __ksymtab', (t) => {
  const elf = readElf(memorySource(hostile((s) => (s.relocs[0].type = 37))));
  t.throws(() => moduleExports(elf), { code: 'EELFRELOC', message: /unsupported relocation type 37/ } as never);
});

test('CLI: kmodkit symbols --exports / --imports', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const cli = new URL('../../../cli/index.js', import.meta.url).pathname;
  const exporter = new URL('ko/kmodkit_exporter.ko.xz', ROOT).pathname;
  const text = spawnSync(process.execPath, [cli, 'symbols', '--exports', exporter]);
  t.is(text.status, 0);
  t.regex(text.stdout.toString(), /^0x7deb0461 +EXPORT_SYMBOL_GPL +kmodkit_exp_ns +KMODKIT_TEST$/m);
  const json = spawnSync(process.execPath, [cli, 'symbols', '--exports', '--json', exporter]);
  t.is(JSON.parse(json.stdout.toString()).exports.length, 4);
  const imports = spawnSync(process.execPath, [cli, 'symbols', '--imports', '--json', new URL('ko/kmodkit_consumer.ko', ROOT).pathname]);
  t.is(JSON.parse(imports.stdout.toString()).imports.find((s: { name: string }) => s.name === 'kmodkit_exp_ns').crc, '0x7deb0461');
  const none = spawnSync(process.execPath, [cli, 'symbols', exporter]);
  t.is(none.status, 2);
  const bad = spawnSync(process.execPath, [cli, 'symbols', '--exports', '/nonexistent.ko', exporter]);
  t.is(bad.status, 1);
  t.regex(bad.stderr.toString(), /^kmodkit: \/nonexistent\.ko: /);
  t.regex(bad.stdout.toString(), /kmodkit_exp_add/);
});
