/**
 * Module parameters from the `__param` section: an array of
 * `struct kernel_param`, whose pointer fields are relocations in a `.ko`.
 *
 * Layout per era and word size (P = pointer size):
 *
 *   4.2+ : { name; mod; ops; u16 perm; s8 level; u8 flags; arg }  5*P  (40 / 20 bytes)
 *   <4.2 : { name; ops; u16 perm; s16 level | s8 level, u8 flags | u16 flags; arg }  4*P (32 / 16)
 *
 * The era is detected, never assumed: a relocation against `__this_module`
 * at the `mod` field means 4.2+; otherwise label-symbol sizes
 * (`__param_<name>`), the section size and the relocation pattern decide.
 * When nothing decides, decoding fails with 'EFORMAT'.
 *
 * The type comes from the `ops` relocation target (`param_ops_int`,
 * `param_array_ops`, ...). Arrays follow `arg` to `struct kparam_array`
 * (max, elemsize, num*, ops*, elem*), fixed strings to `struct kparam_string`
 * (maxlen, string*). The result is joined with `.modinfo` `parm=` and
 * `parmtype=` entries and disagreements are reported.
 */
import { bytesOf, inRange, u16, u32, u8, type Bytes } from '../bytes/reader.js';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { STT_SECTION, SHN_UNDEF, SHT_NOBITS } from '../elf/constants.js';
import { data, relocationsFor, section, symbolTable, type ElfFile } from '../elf/file.js';
import { fieldTarget, targetString, type FieldTarget } from '../elf/relocate.js';
import { moduleInfo, type KernelModule } from './module.js';
import type { ModinfoEntry } from './modinfo.js';
import { mergeParms } from './parm.js';
import { describeTarget, targetLocation } from './symref.js';

/** Parameter types the kernel provides ops for (`param_ops_<type>`). */
export const STANDARD_PARAM_TYPES = [
  'byte', 'short', 'ushort', 'int', 'uint', 'long', 'ulong', 'ullong', 'hexint',
  'charp', 'bool', 'bool_enable_only', 'invbool', 'bint',
] as const;
export type StandardParamType = (typeof STANDARD_PARAM_TYPES)[number];

/**
 * 'array' = param_array_ops, 'string' = param_ops_string (module_param_string),
 * 'custom' = ops defined by the module (module_param_cb), 'unknown' = the ops
 * pointer could not be resolved (no relocation, unsupported relocation).
 */
export type ParamType = StandardParamType | 'array' | 'string' | 'custom' | 'unknown';

export interface KernelParam {
  /** Parameter name (the string `name` points to). */
  name: string;
  type: ParamType;
  /** Arrays: type of the elements (from kparam_array.ops). */
  elementType?: ParamType;
  /** Arrays: elements' ops symbol when it is not a standard one. */
  elementOpsSymbol?: string;
  /** Arrays: kparam_array.elemsize. */
  elementSize?: number;
  /** Arrays: kparam_array.max (the most elements the parameter takes). */
  maxCount?: number;
  /** Arrays: whether a count variable (kparam_array.num) is given. */
  hasCountVariable?: boolean;
  /** Strings (module_param_string): kparam_string.maxlen, the buffer size including the NUL. */
  maxLength?: number;
  /** Name of the ops object: 'param_ops_int', 'param_array_ops', 'mode_ops', '.rodata+0x20' ... ('' when unresolved). */
  opsSymbol: string;
  /** sysfs permission bits (octal 0644 = 420). */
  perm: number;
  /** Initcall level (-1 for modules); absent where the era has none. */
  level?: number;
  /** KERNEL_PARAM_FL_* bits; absent where the era has none. */
  flags?: number;
  /** Names of the known flag bits ('unsafe', 'hwparam'). */
  flagNames?: string[];
  /** MODULE_PARM_DESC text (.modinfo parm=). */
  description?: string;
  /** .modinfo parmtype= value. */
  parmtype?: string;
  /** The name parm=/parmtype= use when it differs (a MODULE_PARAM_PREFIX such as "mmcblk." is not in .modinfo). */
  modinfoName?: string;
  /** Disagreements between __param and .modinfo for this parameter. */
  mismatch?: string[];
  /** Index of the entry in __param. */
  index: number;
}

export type ParamEra = '4.2+' | '3.19-4.1' | '3.6-3.18' | '2.6.36-3.5' | '<4.2';

export interface ParamLayout {
  /** Size of one struct kernel_param. */
  stride: number;
  /** 4.2+ layout (with `mod`) or the older one. */
  era: ParamEra;
  /** Field offsets within an entry (mod absent before 4.2). */
  fields: { name: number; mod?: number; ops: number; perm: number; level: number; arg: number };
  /** What decided the layout. */
  detectedBy: string;
}

/** A parm=/parmtype= entry with no kernel_param behind it. */
export interface ModinfoOnlyParam {
  name: string;
  description?: string;
  parmtype?: string;
}

export interface ParamsResult {
  /** In .modinfo order where described there, then in __param order. */
  params: KernelParam[];
  /** null when the module has no (or an empty) __param section. */
  layout: ParamLayout | null;
  /** parm=/parmtype= entries without a __param entry. */
  modinfoOnly: ModinfoOnlyParam[];
  /** Every disagreement and decoding problem, one readable line each. */
  warnings: string[];
}

const KERNEL_PARAM_FL_UNSAFE = 1;
const KERNEL_PARAM_FL_HWPARAM = 2;

/** Layouts per word size: index 0 = 4.2+, 1 = older. */
function layoutsFor(ptr: 4 | 8): [ParamLayout['fields'] & { stride: number }, ParamLayout['fields'] & { stride: number }] {
  const P = ptr;
  return [
    { stride: 5 * P, name: 0, mod: P, ops: 2 * P, perm: 3 * P, level: 3 * P + 2, arg: 4 * P },
    { stride: 4 * P, name: 0, ops: P, perm: 2 * P, level: 2 * P + 2, arg: 3 * P },
  ];
}

interface RelocView {
  /** offset -> symbol name of the relocation at that offset */
  byOffset: Map<number, string>;
  thisModuleOffsets: number[];
}

function relocView(elf: ElfFile, sectionIndex: number): RelocView {
  const st = symbolTable(elf);
  const byOffset = new Map<number, string>();
  const thisModuleOffsets: number[] = [];
  for (const rs of relocationsFor(elf, sectionIndex)) {
    for (const r of rs.entries) {
      const sym = st?.symbols[r.sym];
      const name = sym ? (sym.type === STT_SECTION ? `section#${sym.shndx}` : sym.name) : `sym#${r.sym}`;
      if (!byOffset.has(r.offset)) byOffset.set(r.offset, name);
      if (name === '__this_module') thisModuleOffsets.push(r.offset);
    }
  }
  return { byOffset, thisModuleOffsets };
}

/**
 * Decide the struct kernel_param layout of a __param section.
 * Throws 'EFORMAT' when the evidence is contradictory or absent.
 */
export function detectParamLayout(elf: ElfFile, sectionIndex: number): ParamLayout {
  const sec = elf.sections[sectionIndex];
  const ptr = elf.header.class === 64 ? 8 : 4;
  const [modern, legacy] = layoutsFor(ptr);
  const size = sec.size;
  const rv = relocView(elf, sectionIndex);
  const mk = (l: typeof modern, era: ParamEra, detectedBy: string): ParamLayout => {
    if (size % l.stride !== 0) {
      throw new KmodkitError('EFORMAT', `__param size ${size} is not a multiple of the ${l.stride}-byte struct kernel_param (${detectedBy})`, {
        detail: { section: '__param', size, stride: l.stride },
      });
    }
    const { stride, ...fields } = l;
    return { stride, era, fields, detectedBy };
  };

  // 1. `mod` pointers to __this_module: only the 4.2+ layout has them.
  if (rv.thisModuleOffsets.length > 0) {
    const atMod = rv.thisModuleOffsets.every((o) => o % modern.stride === modern.mod);
    if (!atMod) {
      throw new KmodkitError('EFORMAT', `__param has __this_module relocations that are not at the 'mod' field of a ${modern.stride}-byte kernel_param`);
    }
    return mk(modern, '4.2+', `relocations against __this_module at entry+${modern.mod}`);
  }
  // 2. Sizes of the __param_<name> label symbols.
  const st = symbolTable(elf);
  const labelSizes = new Set<number>();
  for (const s of st?.symbols ?? []) {
    if (s.shndx === sectionIndex && s.name.startsWith('__param_') && s.size > 0) labelSizes.add(s.size);
  }
  if (labelSizes.size === 1) {
    const sz = [...labelSizes][0];
    if (sz === modern.stride) return mk(modern, '4.2+', `__param_* symbol size ${sz}`);
    if (sz === legacy.stride) return mk(legacy, '<4.2', `__param_* symbol size ${sz}`);
  }
  // 3. Section size.
  const fitsModern = size % modern.stride === 0;
  const fitsLegacy = size % legacy.stride === 0;
  if (fitsModern && !fitsLegacy) return mk(modern, '4.2+', `section size ${size} divisible by ${modern.stride} only`);
  if (fitsLegacy && !fitsModern) return mk(legacy, '<4.2', `section size ${size} divisible by ${legacy.stride} only`);
  if (!fitsModern && !fitsLegacy) {
    throw new KmodkitError('EFORMAT', `__param size ${size} fits neither the ${modern.stride}- nor the ${legacy.stride}-byte struct kernel_param`);
  }
  // 4. Relocation pattern: every entry has a relocated name and ops.
  const pattern = (l: typeof modern) => {
    for (let o = 0; o < size; o += l.stride) {
      if (!rv.byOffset.has(o + l.name) || !rv.byOffset.has(o + l.ops)) return false;
    }
    return true;
  };
  const pm = pattern(modern);
  const pl = pattern(legacy);
  if (pm && !pl) return mk(modern, '4.2+', 'relocation pattern (name/ops every ' + modern.stride + ' bytes)');
  if (pl && !pm) return mk(legacy, '<4.2', 'relocation pattern (name/ops every ' + legacy.stride + ' bytes)');
  throw new KmodkitError('EFORMAT', `cannot tell the struct kernel_param layout of __param (size ${size}: ${modern.stride}- and ${legacy.stride}-byte entries both fit)`);
}

/** The standard type behind an ops symbol name, if it is one. */
function standardType(name: string): StandardParamType | undefined {
  if (!name.startsWith('param_ops_')) return undefined;
  const t = name.slice('param_ops_'.length);
  return (STANDARD_PARAM_TYPES as readonly string[]).includes(t) ? (t as StandardParamType) : undefined;
}

interface OpsInfo {
  type: ParamType;
  symbol: string;
  /** What parmtype= the macros would emit for these ops (undefined: cannot tell). */
  parmtypeName?: string;
}

function classifyOps(elf: ElfFile, t: FieldTarget | null): OpsInfo {
  if (!t) return { type: 'unknown', symbol: '' };
  const name = describeTarget(elf, t);
  const sym = t.symbol;
  const plain = sym.type !== STT_SECTION && t.addend === 0;
  if (plain && sym.shndx === SHN_UNDEF) {
    if (sym.name === 'param_array_ops') return { type: 'array', symbol: name };
    if (sym.name === 'param_ops_string') return { type: 'string', symbol: name, parmtypeName: 'string' };
    const std = standardType(sym.name);
    if (std) return { type: std, symbol: name, parmtypeName: std };
  }
  // Module-defined ops; module_param(x, foo, ...) names them param_ops_foo.
  const parmtypeName = /^param_ops_[A-Za-z0-9_]+$/.test(name) ? name.slice('param_ops_'.length) : undefined;
  return { type: 'custom', symbol: name, parmtypeName };
}

interface Ctx {
  elf: ElfFile;
  warnings: string[];
  ptr: 4 | 8;
}

/** fieldTarget that turns a KmodkitError (unsupported relocation ...) into a warning. */
function target(ctx: Ctx, sectionIndex: number, offset: number, what: string): FieldTarget | null | 'error' {
  try {
    return fieldTarget(ctx.elf, sectionIndex, offset);
  } catch (e) {
    if (!isKmodkitError(e)) throw e;
    ctx.warnings.push(`${what}: ${e.message}`);
    return 'error';
  }
}

/** Bytes of a section holding a pointed-to struct, or undefined (with a warning). */
function structAt(ctx: Ctx, t: FieldTarget, len: number, what: string): { b: Bytes; off: number; section: number } | undefined {
  const loc = targetLocation(ctx.elf, t);
  if (!loc) {
    ctx.warnings.push(`${what}: points to ${describeTarget(ctx.elf, t)}, which is not defined in the module`);
    return undefined;
  }
  const sec = ctx.elf.sections[loc.section];
  if (sec.type === SHT_NOBITS || !sec.inFile || !inRange(loc.offset, len, sec.size)) {
    ctx.warnings.push(`${what}: ${describeTarget(ctx.elf, t)} (${len} bytes at ${sec.name || '#' + sec.index}+0x${loc.offset.toString(16)}) is not inside the section's data`);
    return undefined;
  }
  return { b: bytesOf(data(ctx.elf, sec), ctx.elf.header.le), off: loc.offset, section: loc.section };
}

function decodeEntry(ctx: Ctx, secIdx: number, b: Bytes, layout: ParamLayout, index: number): { p: KernelParam; expected?: string } {
  const { elf, ptr } = ctx;
  const base = index * layout.stride;
  const f = layout.fields;
  const label = `__param[${index}]`;

  // name
  let name: string | undefined;
  const nt = target(ctx, secIdx, base + f.name, `${label} name`);
  if (nt && nt !== 'error') {
    try {
      name = targetString(elf, nt);
    } catch (e) {
      if (!isKmodkitError(e)) throw e;
      ctx.warnings.push(`${label} name: ${e.message}`);
    }
  } else if (nt === null) {
    ctx.warnings.push(`${label} name: pointer has no relocation`);
  }
  if (name === undefined) {
    // the label symbol __param_<name> at the entry, when present
    const lab = symbolTable(elf)?.symbols.find((s) => s.shndx === secIdx && s.value === base && s.name.startsWith('__param_'));
    name = lab ? lab.name.slice('__param_'.length) : `#${index}`;
  }
  const where = `parameter ${name}`;

  // ops
  const ot = target(ctx, secIdx, base + f.ops, `${where} ops`);
  if (ot === null) ctx.warnings.push(`${where}: ops pointer has no relocation`);
  const ops = classifyOps(elf, ot === 'error' ? null : ot);

  const p: KernelParam = { name, type: ops.type, opsSymbol: ops.symbol, perm: u16(b, base + f.perm), index };

  // level / flags
  if (layout.era === '4.2+') {
    p.level = (u8(b, base + f.level) << 24) >> 24;
    p.flags = u8(b, base + f.level + 1);
  } else {
    // s16 level (3.6-3.18), s8 level + u8 flags (3.19-4.1) or u16 flags (<=3.5):
    // modules always have level -1, which tells the first two apart.
    const lo = u8(b, base + f.level);
    const hi = u8(b, base + f.level + 1);
    if (lo === 0xff && hi === 0xff) {
      p.level = -1;
      layout.era = '3.6-3.18';
    } else if (lo === 0xff) {
      p.level = -1;
      p.flags = hi;
      layout.era = '3.19-4.1';
    } else {
      p.flags = u16(b, base + f.level);
      layout.era = '2.6.36-3.5';
    }
  }
  if (p.flags !== undefined && p.flags !== 0) {
    const names: string[] = [];
    if (p.flags & KERNEL_PARAM_FL_UNSAFE) names.push('unsafe');
    if (p.flags & KERNEL_PARAM_FL_HWPARAM && layout.era === '4.2+') names.push('hwparam');
    if (names.length) p.flagNames = names;
  }

  // arg
  if (ops.type === 'array' || ops.type === 'string') {
    const at = target(ctx, secIdx, base + f.arg, `${where} arg`);
    if (at === null) ctx.warnings.push(`${where}: ${ops.type === 'array' ? 'kparam_array' : 'kparam_string'} pointer has no relocation`);
    if (at && at !== 'error') {
      if (ops.type === 'array') {
        // struct kparam_array { uint max; uint elemsize; uint *num; ops *; void *elem; }
        const len = 8 + 3 * ptr;
        const s = structAt(ctx, at, len, `${where} kparam_array`);
        if (s) {
          p.maxCount = u32(s.b, s.off);
          p.elementSize = u32(s.b, s.off + 4);
          const numT = target(ctx, s.section, s.off + 8, `${where} kparam_array.num`);
          if (numT !== 'error') p.hasCountVariable = numT !== null;
          const eo = target(ctx, s.section, s.off + 8 + ptr, `${where} kparam_array.ops`);
          if (eo === null) ctx.warnings.push(`${where}: kparam_array.ops has no relocation`);
          const el = classifyOps(elf, eo === 'error' ? null : eo);
          p.elementType = el.type;
          if (el.type === 'custom' || el.type === 'array' || el.type === 'string') p.elementOpsSymbol = el.symbol;
          ops.parmtypeName = el.parmtypeName !== undefined && el.type !== 'array' && el.type !== 'string' ? `array of ${el.parmtypeName}` : undefined;
        }
      } else {
        // struct kparam_string { uint maxlen; char *string; }
        const s = structAt(ctx, at, 2 * ptr, `${where} kparam_string`);
        if (s) p.maxLength = u32(s.b, s.off);
      }
    }
  }
  return { p, expected: ops.parmtypeName };
}

function moduleModinfo(mod: KernelModule): ModinfoEntry[] {
  try {
    return moduleInfo(mod);
  } catch (e) {
    if (isKmodkitError(e) && e.code === 'EMODINFO') return [];
    throw e;
  }
}

/** Decode __param and join it with .modinfo. Throws KmodkitError on structural problems of __param itself. */
export function decodeParams(mod: KernelModule): ParamsResult {
  const elf = mod.elf;
  const warnings: string[] = [];
  const ctx: Ctx = { elf, warnings, ptr: elf.header.class === 64 ? 8 : 4 };
  const raw: KernelParam[] = [];
  const expectedOf = new Map<KernelParam, string | undefined>();
  let layout: ParamLayout | null = null;
  const sec = section(elf, '__param');
  if (sec && sec.size > 0) {
    if (sec.type === SHT_NOBITS) throw new KmodkitError('EFORMAT', '__param is a NOBITS section');
    layout = detectParamLayout(elf, sec.index);
    const b = bytesOf(data(elf, sec), elf.header.le);
    const n = sec.size / layout.stride;
    for (let i = 0; i < n; i++) {
      const { p, expected } = decodeEntry(ctx, sec.index, b, layout, i);
      raw.push(p);
      expectedOf.set(p, expected);
    }
  }

  // join with .modinfo
  const merged = mergeParms(moduleModinfo(mod)).params;
  const info = new Map(merged.map((m) => [m.name, m]));
  const seen = new Set<string>();
  const joined = new Set<string>();
  for (const p of raw) {
    if (seen.has(p.name)) warnings.push(`parameter ${p.name}: defined more than once in __param`);
    seen.add(p.name);
    joined.add(p.name);
    // MODULE_PARAM_PREFIX ("mmcblk.") is part of the kernel_param name but not of parm=/parmtype=
    let m = info.get(p.name);
    if (!m && p.name.includes('.')) {
      const bare = p.name.slice(p.name.lastIndexOf('.') + 1);
      m = info.get(bare);
      if (m) {
        p.modinfoName = bare;
        joined.add(bare);
      }
    }
    if (m?.description !== undefined) p.description = m.description;
    if (m?.type !== undefined) p.parmtype = m.type;
    const expected = expectedOf.get(p);
    const mism: string[] = [];
    // module_param_cb() emits no parmtype=, so only the standard ops must have one
    const standardOps = p.type !== 'custom' && p.type !== 'unknown';
    if (p.parmtype === undefined) {
      if (expected !== undefined && standardOps) mism.push(`no parmtype= in .modinfo (ops ${p.opsSymbol} imply '${expected}')`);
    } else if (expected !== undefined && p.parmtype !== expected && standardOps) {
      // Module-defined ops may carry an explicit __MODULE_PARM_TYPE() of another
      // name (7.2's uvcvideo: module_param_cb(nodrop, &param_ops_nodrop, …) with
      // parmtype "uint"), so only the kernel's own ops imply a parmtype.
      mism.push(`parmtype '${p.parmtype}' but ops ${p.type === 'array' ? `param_array_ops of ${p.elementOpsSymbol ?? 'param_ops_' + p.elementType}` : p.opsSymbol} imply '${expected}'`);
    }
    if (mism.length) {
      p.mismatch = mism;
      for (const x of mism) warnings.push(`parameter ${p.name}: ${x}`);
    }
  }
  const modinfoOnly: ModinfoOnlyParam[] = [];
  for (const m of merged) {
    if (joined.has(m.name)) continue;
    const o: ModinfoOnlyParam = { name: m.name };
    if (m.description !== undefined) o.description = m.description;
    if (m.type !== undefined) o.parmtype = m.type;
    modinfoOnly.push(o);
    warnings.push(`parameter ${m.name}: ${m.type !== undefined ? `parmtype '${m.type}'` : 'parm= description'} in .modinfo but no kernel_param in __param`);
  }
  // .modinfo order first (what modinfo -p shows), then the rest in __param order
  const order = new Map(merged.map((m, i) => [m.name, i]));
  const params = raw.slice().sort((a, b) => {
    const ia = order.get(a.modinfoName ?? a.name) ?? Infinity;
    const ib = order.get(b.modinfoName ?? b.name) ?? Infinity;
    return ia !== ib ? (ia < ib ? -1 : 1) : a.index - b.index;
  });
  return { params, layout, modinfoOnly, warnings };
}

/** Just the parameters. */
export function moduleParams(mod: KernelModule): KernelParam[] {
  return decodeParams(mod).params;
}

/** "0644"-style octal text of a perm value. */
export function permText(perm: number): string {
  return '0' + perm.toString(8).padStart(3, '0');
}
