import test from 'ava';
import { readFileSync } from 'node:fs';
import { memorySource } from '../../../lib/bytes/source.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { readModule } from '../../../lib/module/module.js';
import { decodeParams, moduleParams, permText, type KernelParam } from '../../../lib/module/params.js';
import { buildElf, cstrings, VARIANTS, type RelocSpec, type SymbolSpec } from '../../helpers/elf-builder.js';

const SAMPLE = new URL('../../../../samples/ko/kmodkit_params.ko', import.meta.url).pathname;

// What samples/src/kmodkit_params.c declares, in source order.
const EXPECTED: Partial<KernelParam>[] = [
  { name: 'byteval', type: 'byte', perm: 0o444 },
  { name: 'shortval', type: 'short', perm: 0o644 },
  { name: 'ushortval', type: 'ushort', perm: 0o444 },
  { name: 'intval', type: 'int', perm: 0o644 },
  { name: 'uintval', type: 'uint', perm: 0o444 },
  { name: 'longval', type: 'long', perm: 0o600 },
  { name: 'ulongval', type: 'ulong', perm: 0o444 },
  { name: 'hexval', type: 'hexint', perm: 0o644 },
  { name: 'boolval', type: 'bool', perm: 0o644 },
  { name: 'invboolval', type: 'invbool', perm: 0o444 },
  { name: 'charpval', type: 'charp', perm: 0o644 },
  { name: 'strval', type: 'string', perm: 0o644, maxLength: 16 },
  { name: 'intarr', type: 'array', perm: 0o444, elementType: 'int', maxCount: 4, elementSize: 4, hasCountVariable: true },
  { name: 'charparr', type: 'array', perm: 0o444, elementType: 'charp', maxCount: 3, elementSize: 8, hasCountVariable: false },
  { name: 'boolarr', type: 'array', perm: 0o644, elementType: 'bool', maxCount: 2, elementSize: 1, hasCountVariable: true },
  { name: 'mode', type: 'custom', perm: 0o644, opsSymbol: 'mode_ops' },
  { name: 'verbose', type: 'int', perm: 0o600 },
  { name: 'hidden', type: 'int', perm: 0 },
  { name: 'nodesc', type: 'uint', perm: 0o444 },
];

test('kmodkit_params.ko: every parameter matches the C source', async (t) => {
  const mod = await readModuleFile(SAMPLE);
  const r = decodeParams(mod);
  t.deepEqual(r.warnings, []);
  t.deepEqual(r.modinfoOnly, []);
  t.is(r.layout?.stride, 40);
  t.is(r.layout?.era, '4.2+');
  t.deepEqual(r.params.map((p) => p.name), EXPECTED.map((e) => e.name));
  for (const e of EXPECTED) {
    const p = r.params.find((x) => x.name === e.name)!;
    for (const [k, v] of Object.entries(e)) t.deepEqual((p as unknown as Record<string, unknown>)[k], v, `${e.name}.${k}`);
    if (p.type !== 'array') t.is(p.elementType, undefined, `${p.name} has no element type`);
    if (p.type !== 'string') t.is(p.maxLength, undefined);
    t.is(p.level, -1);
    t.is(p.flags, 0);
    t.is(p.mismatch, undefined);
    if (p.type !== 'custom') t.is(p.opsSymbol, p.type === 'array' ? 'param_array_ops' : `param_ops_${p.type}`);
  }
  t.is(r.params.find((p) => p.name === 'nodesc')!.description, undefined);
  t.is(r.params.find((p) => p.name === 'intval')!.description, 'A signed int');
  t.is(r.params.find((p) => p.name === 'mode')!.parmtype, undefined);
  t.is(r.params.find((p) => p.name === 'intarr')!.parmtype, 'array of int');
  t.is(permText(0o644), '0644');
  t.is(permText(0), '0000');
});

test('kmodkit_params: compressed copies decode identically; hello.ko has one int', async (t) => {
  const plain = moduleParams(await readModuleFile(SAMPLE));
  for (const ext of ['gz', 'xz', 'zst']) t.deepEqual(moduleParams(await readModuleFile(`${SAMPLE}.${ext}`)), plain, ext);
  const hello = moduleParams(await readModuleFile(SAMPLE.replace('kmodkit_params', 'hello')));
  t.deepEqual(hello.map((p) => [p.name, p.type, p.perm]), [['repeat', 'int', 0o644]]);
  const none = decodeParams(await readModuleFile(SAMPLE.replace('kmodkit_params', 'kmodkit_exporter')));
  t.deepEqual(none, { params: [], layout: null, modinfoOnly: [], warnings: [] });
});

// ---------------------------------------------------------------------------
// synthetic modules

interface PSpec {
  name: string;
  ops: string;
  /** define the ops object in the module (custom ops) */
  opsDefined?: boolean;
  perm: number;
  /** raw bytes after perm (level/flags), default: level -1, flags 0 in the era's encoding */
  levelBytes?: [number, number];
  array?: { max: number; elemsize: number; elemOps: string; num?: boolean };
  string?: { maxlen: number };
  noNameReloc?: boolean;
  noOpsReloc?: boolean;
  /** relocation type to use for the ops field instead of the absolute one */
  opsRelocType?: number;
  /** point the kparam_array/kparam_string pointer this far into .rodata instead */
  argAddend?: number;
}

interface Machine { machine: number; abs: number; rela: boolean }
const MACHINES: Record<string, Machine> = {
  '64le': { machine: 62, abs: 1, rela: true }, // x86_64 R_X86_64_64
  '64be': { machine: 22, abs: 22, rela: true }, // s390x R_390_64
  '32le': { machine: 3, abs: 1, rela: false }, // i386 R_386_32 (REL)
  '32be': { machine: 20, abs: 1, rela: true }, // ppc R_PPC_ADDR32
};

interface BuildOpts {
  class: 32 | 64;
  le: boolean;
  era: 'modern' | 'legacy';
  entries: PSpec[];
  modinfo?: string[];
  /** add __param_<name> label symbols with the entry size */
  labels?: boolean;
  /** no __this_module relocations even in the modern layout */
  dropMod?: boolean;
  /** extra bytes appended to __param */
  padParam?: number;
}

function buildParamModule(o: BuildOpts): Uint8Array {
  const P = o.class / 8;
  const m = MACHINES[`${o.class}${o.le ? 'le' : 'be'}`];
  const stride = o.era === 'modern' ? 5 * P : 4 * P;
  const f = o.era === 'modern'
    ? { name: 0, mod: P, ops: 2 * P, perm: 3 * P, level: 3 * P + 2, arg: 4 * P }
    : { name: 0, mod: -1, ops: P, perm: 2 * P, level: 2 * P + 2, arg: 3 * P };
  const dv = (n: number) => new DataView(new ArrayBuffer(n));
  // strings
  const strOff: number[] = [];
  let strs = '';
  for (const e of o.entries) {
    strOff.push(strs.length);
    strs += e.name + '\0';
  }
  // rodata: kparam_array / kparam_string structs, then custom ops objects
  const structOff: number[] = [];
  let rsize = 0;
  for (const e of o.entries) {
    structOff.push(rsize);
    if (e.array) rsize += 8 + 3 * P;
    else if (e.string) rsize += 2 * P;
  }
  const customOff = new Map<string, number>();
  for (const e of o.entries) if (e.opsDefined && !customOff.has(e.ops)) { customOff.set(e.ops, rsize); rsize += 4 * P; }
  const rodata = dv(Math.max(rsize, 8));
  const paramData = dv(o.entries.length * stride + (o.padParam ?? 0));
  const paramRel: RelocSpec[] = [];
  const rodataRel: RelocSpec[] = [];
  const putWord = (d: DataView, off: number, v: number) => (P === 8 ? d.setBigUint64(off, BigInt(v), o.le) : d.setUint32(off, v >>> 0, o.le));
  // REL: the addend lives in the field
  const reloc = (list: RelocSpec[], d: DataView, offset: number, sym: string, addend = 0, type = m.abs) => {
    if (m.rela) list.push({ offset, type, sym, addend });
    else {
      list.push({ offset, type, sym });
      putWord(d, offset, addend);
    }
  };
  const symbols: SymbolSpec[] = [
    { name: '.rodata.str', type: 3, bind: 0, section: '.rodata.str' },
    { name: '.rodata', type: 3, bind: 0, section: '.rodata' },
    { name: '.data', type: 3, bind: 0, section: '.data' },
    { name: '__this_module', type: 1, bind: 1, section: '.gnu.linkonce.this_module', size: 64 },
  ];
  const undef = new Set<string>();
  o.entries.forEach((e, i) => {
    const base = i * stride;
    if (!e.noNameReloc) reloc(paramRel, paramData, base + f.name, '.rodata.str', strOff[i]);
    if (o.era === 'modern' && !o.dropMod) reloc(paramRel, paramData, base + f.mod, '__this_module');
    if (!e.noOpsReloc) {
      if (e.opsDefined) reloc(paramRel, paramData, base + f.ops, e.ops, 0, e.opsRelocType ?? m.abs);
      else {
        undef.add(e.ops);
        reloc(paramRel, paramData, base + f.ops, e.ops, 0, e.opsRelocType ?? m.abs);
      }
    }
    paramData.setUint16(base + f.perm, e.perm, o.le);
    const lb = e.levelBytes ?? (o.era === 'modern' ? [0xff, 0] : [0xff, 0xff]);
    paramData.setUint8(base + f.level, lb[0]);
    paramData.setUint8(base + f.level + 1, lb[1]);
    if (e.array || e.string) reloc(paramRel, paramData, base + f.arg, '.rodata', e.argAddend ?? structOff[i]);
    else reloc(paramRel, paramData, base + f.arg, '.data', 0);
    if (e.array) {
      const s = structOff[i];
      rodata.setUint32(s, e.array.max, o.le);
      rodata.setUint32(s + 4, e.array.elemsize, o.le);
      if (e.array.num) reloc(rodataRel, rodata, s + 8, '.data', 16);
      undef.add(e.array.elemOps);
      reloc(rodataRel, rodata, s + 8 + P, e.array.elemOps);
      reloc(rodataRel, rodata, s + 8 + 2 * P, '.data', 32);
    }
    if (e.string) {
      rodata.setUint32(structOff[i], e.string.maxlen, o.le);
      reloc(rodataRel, rodata, structOff[i] + P, '.data', 48);
    }
    if (o.labels) symbols.push({ name: `__param_${e.name}`, type: 1, bind: 0, section: '__param', value: base, size: stride });
  });
  for (const [name, off] of customOff) symbols.push({ name, type: 1, bind: 0, section: '.rodata', value: off, size: 4 * P });
  for (const u of undef) symbols.push({ name: u, bind: 1, section: 0 });
  const tm = new Uint8Array(64);
  tm.set(new TextEncoder().encode('synthetic'), P === 8 ? 24 : 12);
  return buildElf({
    class: o.class,
    le: o.le,
    machine: m.machine,
    sections: [
      { name: '.rodata.str', type: 1, flags: 2, data: cstrings(...o.entries.map((e) => e.name)) },
      { name: '.rodata', type: 1, flags: 2, data: new Uint8Array(rodata.buffer) },
      { name: '.data', type: 1, flags: 3, data: new Uint8Array(64) },
      { name: '__param', type: 1, flags: 2, data: new Uint8Array(paramData.buffer) },
      { name: '.gnu.linkonce.this_module', type: 1, flags: 3, data: tm },
      { name: '.modinfo', type: 1, flags: 2, data: cstrings(...(o.modinfo ?? []), 'name=synthetic') },
    ],
    symbols,
    relocs: [
      { target: '__param', rela: m.rela, entries: paramRel },
      ...(rodataRel.length ? [{ target: '.rodata', rela: m.rela, entries: rodataRel }] : []),
    ],
  });
}

const modOf = (bytes: Uint8Array) => readModule(memorySource(bytes));

const STANDARD: PSpec[] = [
  { name: 'debug', ops: 'param_ops_int', perm: 0o644 },
  { name: 'flag', ops: 'param_ops_bool', perm: 0o444 },
  { name: 'ids', ops: 'param_array_ops', perm: 0o444, array: { max: 8, elemsize: 2, elemOps: 'param_ops_ushort', num: true } },
  { name: 'label', ops: 'param_ops_string', perm: 0o600, string: { maxlen: 32 } },
  { name: 'big', ops: 'param_ops_ullong', perm: 0 },
  { name: 'mode', ops: 'my_ops', opsDefined: true, perm: 0o644 },
];
const STANDARD_INFO = [
  'parmtype=debug:int', 'parm=debug:Debug level', 'parmtype=flag:bool', 'parmtype=ids:array of ushort',
  'parmtype=label:string', 'parmtype=big:ullong', 'parm=mode:Mode (custom)',
].reverse(); // the compiler emits .modinfo in reverse source order

for (const v of VARIANTS) {
  for (const era of ['modern', 'legacy'] as const) {
    test(`synthetic ${v.label}, ${era} kernel_param: types, perm, arrays, strings`, (t) => {
      const bytes = buildParamModule({ class: v.class, le: v.le, era, entries: STANDARD, modinfo: STANDARD_INFO, labels: era === 'legacy' });
      const r = decodeParams(modOf(bytes));
      t.deepEqual(r.warnings, []);
      const P = v.class / 8;
      t.is(r.layout!.stride, era === 'modern' ? 5 * P : 4 * P);
      t.is(r.layout!.era, era === 'modern' ? '4.2+' : '3.6-3.18');
      const by = (n: string) => r.params.find((p) => p.name === n)!;
      t.deepEqual(r.params.map((p) => p.name), ['debug', 'flag', 'ids', 'label', 'big', 'mode']);
      t.like(by('debug'), { type: 'int', perm: 0o644, description: 'Debug level', parmtype: 'int', level: -1 });
      t.like(by('flag'), { type: 'bool', perm: 0o444 });
      t.like(by('ids'), { type: 'array', elementType: 'ushort', maxCount: 8, elementSize: 2, hasCountVariable: true, parmtype: 'array of ushort' });
      t.like(by('label'), { type: 'string', maxLength: 32, perm: 0o600 });
      t.like(by('big'), { type: 'ullong', perm: 0 });
      t.like(by('mode'), { type: 'custom', opsSymbol: 'my_ops', description: 'Mode (custom)' });
      for (const p of r.params) t.is(p.mismatch, undefined);
    });
  }
}

test('legacy eras are told apart by the level/flags bytes of module params', (t) => {
  const mk = (levelBytes: [number, number]) =>
    decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'legacy', labels: true, entries: [{ name: 'x', ops: 'param_ops_int', perm: 0o644, levelBytes }], modinfo: ['parmtype=x:int'] })));
  const a = mk([0xff, 0xff]);
  t.is(a.layout!.era, '3.6-3.18');
  t.is(a.params[0].level, -1);
  t.is(a.params[0].flags, undefined);
  const b = mk([0xff, 0x01]);
  t.is(b.layout!.era, '3.19-4.1');
  t.deepEqual([b.params[0].level, b.params[0].flags, b.params[0].flagNames], [-1, 1, ['unsafe']]);
  const c = mk([0x00, 0x00]);
  t.is(c.layout!.era, '2.6.36-3.5');
  t.is(c.params[0].level, undefined);
  t.is(c.params[0].flags, 0);
  // 4.2+: s8 level, u8 flags (unsafe|hwparam)
  const d = decodeParams(modOf(buildParamModule({ class: 32, le: false, era: 'modern', entries: [{ name: 'io', ops: 'param_ops_ulong', perm: 0o444, levelBytes: [0xff, 3] }], modinfo: ['parmtype=io:ulong'] })));
  t.deepEqual([d.params[0].level, d.params[0].flags, d.params[0].flagNames], [-1, 3, ['unsafe', 'hwparam']]);
});

test('layout detection: __this_module relocs, label sizes, section size, relocation pattern; ambiguity is an error', (t) => {
  // 4 legacy 64-bit entries = 128 bytes: divisible by 32 only
  const four = STANDARD.slice(0, 4);
  t.is(decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'legacy', entries: four }))).layout!.detectedBy.includes('section size'), true);
  // 5 legacy 64-bit entries = 160 bytes: 32 and 40 both divide; relocation pattern decides
  const five = STANDARD.slice(0, 5);
  const r5 = decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'legacy', entries: five })));
  t.is(r5.layout!.stride, 32);
  t.regex(r5.layout!.detectedBy, /relocation pattern/);
  // label symbols decide as well
  t.regex(decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'legacy', entries: five, labels: true }))).layout!.detectedBy, /symbol size 32/);
  // 4 modern entries without mod relocations = 160 bytes and both patterns incomplete ⇒ EFORMAT
  const noRelocs = five.slice(0, 4).map((e) => ({ ...e, noNameReloc: true }));
  const err = t.throws(() => decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'modern', dropMod: true, entries: noRelocs }))));
  t.true(isKmodkitError(err));
  t.is((err as { code?: string }).code, 'EFORMAT');
  t.regex(err!.message, /cannot tell/);
  // a size that fits neither
  const bad = t.throws(() => decodeParams(modOf(buildParamModule({ class: 64, le: true, era: 'modern', entries: STANDARD.slice(0, 1), padParam: 4 }))));
  t.is((bad as { code?: string }).code, 'EFORMAT');
});

test('mismatches: parmtype vs ops, __param without parmtype, parmtype without __param', (t) => {
  const r = decodeParams(modOf(buildParamModule({
    class: 64, le: true, era: 'modern',
    entries: [
      { name: 'count', ops: 'param_ops_uint', perm: 0o644 },
      { name: 'untyped', ops: 'param_ops_int', perm: 0o644 },
      { name: 'arr', ops: 'param_array_ops', perm: 0o444, array: { max: 2, elemsize: 4, elemOps: 'param_ops_int' } },
      { name: 'cb', ops: 'cb_ops', opsDefined: true, perm: 0o644 },
      { name: 'typed_cb', ops: 'param_ops_level', opsDefined: true, perm: 0o644 },
      { name: 'typed_cb2', ops: 'param_ops_level', opsDefined: true, perm: 0o644 },
    ],
    modinfo: ['parmtype=count:int', 'parmtype=arr:array of uint', 'parmtype=typed_cb:level', 'parmtype=typed_cb2:int', 'parmtype=ghost:int', 'parm=ghost:Not there', 'parm=cb:has no type, fine'],
  })));
  const by = (n: string) => r.params.find((p) => p.name === n)!;
  t.deepEqual(by('count').mismatch, ["parmtype 'int' but ops param_ops_uint imply 'uint'"]);
  t.regex(by('untyped').mismatch![0], /no parmtype= in \.modinfo .*'int'/);
  t.regex(by('arr').mismatch![0], /parmtype 'array of uint' but .*'array of int'/);
  t.is(by('cb').mismatch, undefined);
  t.is(by('typed_cb').mismatch, undefined);
  t.is(by('typed_cb').type, 'custom');
  // module_param_cb() with its own ops and an explicit __MODULE_PARM_TYPE() (as 7.2's uvcvideo does) is no mismatch
  t.is(by('typed_cb2').mismatch, undefined);
  t.deepEqual(r.modinfoOnly, [{ name: 'ghost', parmtype: 'int', description: 'Not there' }]);
  t.true(r.warnings.some((w) => /ghost.*no kernel_param/.test(w)));
  t.is(r.warnings.length, 4);
});

test('hostile entries give warnings, never exceptions', (t) => {
  const r = decodeParams(modOf(buildParamModule({
    class: 64, le: true, era: 'modern', labels: true,
    entries: [
      { name: 'noname', ops: 'param_ops_int', perm: 0o644, noNameReloc: true },
      { name: 'noops', ops: 'param_ops_int', perm: 0o644, noOpsReloc: true },
      { name: 'weirdreloc', ops: 'param_ops_int', perm: 0o644, opsRelocType: 200 },
      { name: 'farray', ops: 'param_array_ops', perm: 0o644, array: { max: 1, elemsize: 4, elemOps: 'param_ops_int' }, argAddend: 0x10000 },
      { name: 'fstring', ops: 'param_ops_string', perm: 0o644, string: { maxlen: 9 }, argAddend: -8 },
    ],
  })));
  const names = r.params.map((p) => p.name).sort();
  // the label symbol stands in for a name without relocation
  t.deepEqual(names, ['farray', 'fstring', 'noname', 'noops', 'weirdreloc']);
  const by = (n: string) => r.params.find((p) => p.name === n)!;
  t.is(by('noops').type, 'unknown');
  t.is(by('noops').opsSymbol, '');
  t.is(by('weirdreloc').type, 'unknown');
  t.is(by('farray').maxCount, undefined);
  t.is(by('fstring').maxLength, undefined);
  t.true(r.warnings.some((w) => /__param\[0\] name: pointer has no relocation/.test(w)));
  t.true(r.warnings.some((w) => /unsupported relocation type 200/.test(w)));
  t.true(r.warnings.some((w) => /kparam_array/.test(w)));
  t.true(r.warnings.some((w) => /kparam_string/.test(w)));
});

test('random corruption of the real __param and its relocations: KmodkitError or a result, nothing else', (t) => {
  const orig = readFileSync(SAMPLE);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  // __param at 0xbb0 (0x2f8 bytes), .rela__param at 0x1d1a0 (0x720 bytes), .rela.rodata at 0x1d8c0 (0x150)
  const regions = [[0xbb0, 0x2f8], [0x1d1a0, 0x720], [0x1d8c0, 0x150], [0xec0, 0x1a0]];
  let ok = 0;
  let failed = 0;
  for (let i = 0; i < 300; i++) {
    const b = new Uint8Array(orig);
    for (let k = 0; k < 1 + Math.floor(rnd() * 8); k++) {
      const [off, len] = regions[Math.floor(rnd() * regions.length)];
      b[off + Math.floor(rnd() * len)] = Math.floor(rnd() * 256);
    }
    try {
      decodeParams(modOf(b));
      ok++;
    } catch (e) {
      if (!isKmodkitError(e)) t.fail(`iteration ${i}: ${(e as Error).stack}`);
      failed++;
    }
  }
  t.is(ok + failed, 300);
});
