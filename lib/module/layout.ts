/**
 * Module layout facts: `.gnu.linkonce.this_module` (struct module: name,
 * size, init/exit functions), the sizes of the main sections, build-id, BTF,
 * modversions and signature presence.
 *
 * Every piece is its own function so a caller can decode them independently
 * (inspect records a failure of one without losing the others).
 */
import { cstring, hex } from '../bytes/reader.js';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { SHF_ALLOC, SHT_NOBITS, SHT_NOTE, STT_FUNC } from '../elf/constants.js';
import { data, relocationsFor, section, type ElfFile } from '../elf/file.js';
import { findBuildId, readNotes } from '../elf/notes.js';
import { findSections } from '../elf/sections.js';
import { fieldTarget } from '../elf/relocate.js';
import { moduleInfo, moduleSignature, type KernelModule } from './module.js';
import { once, type Once } from '../once.js';
import { modinfoValue, type ModinfoEntry } from './modinfo.js';
import { describeTarget, symbolsAt, targetLocation } from './symref.js';

export const THIS_MODULE_SECTION = '.gnu.linkonce.this_module';

/** A function pointer field of struct module. */
export interface FunctionRef {
  /** Offset of the pointer field inside struct module. */
  fieldOffset: number;
  /** The relocation's symbol as written by modpost: 'init_module' / 'cleanup_module'. */
  symbol: string;
  /** The other names at the same address (the module_init()/module_exit() function: 'foo_init'). */
  functions: string[];
  /** Section holding the code ('.init.text', '.exit.text', '.text'); absent when undefined in the module. */
  section?: string;
}

export interface ThisModuleInfo {
  /** Number of .gnu.linkonce.this_module sections (the kernel wants exactly one). */
  count: number;
  /** sh_size = sizeof(struct module) of the kernel the module was built for. */
  size?: number;
  /** SHF_ALLOC set and not NOBITS (kernel 6.4+ requires both). */
  allocated?: boolean;
  /** The name field at offset 24 (64-bit) / 12 (32-bit), when it holds a plausible name. */
  name?: string;
  /** Offset the name was read from. */
  nameOffset: number;
  init?: FunctionRef;
  exit?: FunctionRef;
  /** Every relocated field of struct module: offset and target. */
  relocations: { offset: number; target: string }[];
}

export type NameSource = 'modinfo' | 'this_module' | 'none';

export interface ModuleNameInfo {
  name?: string;
  source: NameSource;
  /** modinfo name= */
  modinfoName?: string;
  /** struct module name field */
  thisModuleName?: string;
  /** vermagic says RANDSTRUCT: the struct module layout (name offset) is randomised. */
  randstruct: boolean;
  /** Set when both names exist and differ. */
  conflict?: string;
}

export const LAYOUT_SECTIONS = ['.text', '.init.text', '.exit.text', '.data', '.rodata', '.bss'] as const;
export type LayoutSectionName = (typeof LAYOUT_SECTIONS)[number];

export interface BtfInfo {
  present: boolean;
  /** Size of .BTF. */
  size?: number;
  /** .BTF.base (distilled base BTF, 6.11+) present. */
  base: boolean;
  /** The header magic reads 0xEB9F in the module's byte order. */
  magicOk?: boolean;
}

export interface ModversionsInfo {
  /** __versions (basic modversions) present. */
  basic: boolean;
  /** Number of 64-byte __versions entries. */
  basicCount?: number;
  /** __version_ext_crcs + __version_ext_names (6.14+) present. */
  extended: boolean;
  /** Either kind present. */
  present: boolean;
}

/** Decode the struct module section. Absent section ⇒ count 0 and nothing else. */
export function thisModuleInfo(elf: ElfFile): ThisModuleInfo {
  return decodeThisModule(elf, true);
}

/**
 * With `describe` false, the relocations are resolved (what can fail) but not
 * described (what cannot): moduleName needs only the name field, and the
 * same outcome (the name, or the error) as thisModuleInfo's.
 */
function decodeThisModule(elf: ElfFile, describe: boolean): ThisModuleInfo {
  const nameOffset = elf.header.class === 64 ? 24 : 12;
  const nameLen = elf.header.class === 64 ? 56 : 60;
  const all = findSections(elf.sections, THIS_MODULE_SECTION);
  const info: ThisModuleInfo = { count: all.length, nameOffset, relocations: [] };
  const sec = section(elf, THIS_MODULE_SECTION);
  if (!sec) return info;
  info.size = sec.size;
  info.allocated = (sec.flags & SHF_ALLOC) !== 0 && sec.type !== SHT_NOBITS;
  if (sec.type !== SHT_NOBITS && sec.size >= nameOffset + 1) {
    const bytes = data(elf, sec);
    const name = cstring(bytes, nameOffset, Math.min(bytes.length, nameOffset + nameLen));
    if (name && /^[\x21-\x7e]+$/.test(name)) info.name = name;
  }
  for (const rs of relocationsFor(elf, sec.index)) {
    for (const r of rs.entries) {
      const t = fieldTarget(elf, sec.index, r.offset);
      if (!t || !describe) continue;
      info.relocations.push({ offset: r.offset, target: describeTarget(elf, t) });
      const symName = t.symbol.name;
      if ((symName === 'init_module' || symName === 'cleanup_module') && t.addend === 0) {
        const ref: FunctionRef = { fieldOffset: r.offset, symbol: symName, functions: [] };
        const loc = targetLocation(elf, t);
        if (loc) {
          ref.section = elf.sections[loc.section].name;
          const others = symbolsAt(elf, loc.section, loc.offset).filter((s) => s.name !== symName && s.type === STT_FUNC);
          // the module_init()/module_exit() function is usually local: list locals first
          ref.functions = others.sort((a, b) => a.bind - b.bind).map((s) => s.name);
        }
        if (symName === 'init_module') info.init ??= ref;
        else info.exit ??= ref;
      }
    }
  }
  info.relocations.sort((a, b) => a.offset - b.offset);
  return info;
}

declare module './module.js' {
  interface ModuleCache {
    /** moduleName(mod). */
    name?: Once<ModuleNameInfo>;
  }
}

/**
 * The module's name: modinfo name= (4.13+), else the struct module name field.
 * Without `thisModule`, decoded once per module (cached with its error).
 */
export function moduleName(mod: KernelModule, thisModule?: ThisModuleInfo): ModuleNameInfo {
  if (thisModule) return nameOf(mod, thisModule);
  return { ...once(mod.cache, 'name', () => nameOf(mod)) };
}

function nameOf(mod: KernelModule, thisModule?: ThisModuleInfo): ModuleNameInfo {
  let entries: readonly ModinfoEntry[];
  try {
    entries = moduleInfo(mod);
  } catch (e) {
    if (!(isKmodkitError(e) && e.code === 'EMODINFO')) throw e;
    entries = [];
  }
  const modinfoName = modinfoValue(entries, 'name');
  const vermagic = modinfoValue(entries, 'vermagic') ?? '';
  const randstruct = /(^|\s)RANDSTRUCT(_PLUGIN)?_/.test(vermagic);
  const tm = thisModule ?? decodeThisModule(mod.elf, false);
  const out: ModuleNameInfo = { source: 'none', randstruct };
  if (modinfoName !== undefined && modinfoName !== '') out.modinfoName = modinfoName;
  if (tm.name !== undefined) out.thisModuleName = tm.name;
  if (out.modinfoName !== undefined) {
    out.name = out.modinfoName;
    out.source = 'modinfo';
  } else if (out.thisModuleName !== undefined && !randstruct) {
    out.name = out.thisModuleName;
    out.source = 'this_module';
  }
  if (out.modinfoName !== undefined && out.thisModuleName !== undefined && out.modinfoName !== out.thisModuleName && !randstruct) {
    out.conflict = `modinfo name '${out.modinfoName}' differs from struct module name '${out.thisModuleName}'`;
  }
  return out;
}

/** sh_size of .text, .init.text, .exit.text, .data, .rodata, .bss; null when the section is absent. */
export function sectionSizes(elf: ElfFile): Record<LayoutSectionName, number | null> {
  const out = {} as Record<LayoutSectionName, number | null>;
  for (const n of LAYOUT_SECTIONS) {
    const s = elf.sections.find((x) => x.index > 0 && x.name === n);
    out[n] = s ? s.size : null;
  }
  return out;
}

/** The GNU build-id as lower-case hex, or undefined. */
export function buildId(elf: ElfFile): string | undefined {
  const cands = elf.sections.filter((s) => s.type === SHT_NOTE && s.inFile);
  cands.sort((a, b) => (a.name === '.note.gnu.build-id' ? -1 : 0) - (b.name === '.note.gnu.build-id' ? -1 : 0));
  for (const s of cands) {
    const id = findBuildId(readNotes(data(elf, s), elf.header.le));
    if (id && id.length > 0) return hex(id).toLowerCase();
  }
  return undefined;
}

export function btfInfo(elf: ElfFile): BtfInfo {
  const s = section(elf, '.BTF');
  const base = section(elf, '.BTF.base') !== undefined;
  if (!s) return { present: false, base };
  const out: BtfInfo = { present: true, size: s.size, base };
  if (s.type !== SHT_NOBITS && s.size >= 2) {
    const d = data(elf, s);
    const magic = elf.header.le ? d[0] | (d[1] << 8) : (d[0] << 8) | d[1];
    out.magicOk = magic === 0xeb9f;
  }
  return out;
}

export function modversionsInfo(elf: ElfFile): ModversionsInfo {
  const v = section(elf, '__versions');
  const ext = section(elf, '__version_ext_crcs') !== undefined && section(elf, '__version_ext_names') !== undefined;
  const out: ModversionsInfo = { basic: v !== undefined, extended: ext, present: v !== undefined || ext };
  if (v) out.basicCount = Math.floor(v.size / 64);
  return out;
}

export interface ModuleLayout {
  name: ModuleNameInfo;
  thisModule: ThisModuleInfo;
  sections: Record<LayoutSectionName, number | null>;
  buildId?: string;
  btf: BtfInfo;
  modversions: ModversionsInfo;
  signed: boolean;
}

/** All of the above at once (the first failure propagates; inspect calls the pieces one by one). */
export function moduleLayout(mod: KernelModule): ModuleLayout {
  const thisModule = thisModuleInfo(mod.elf);
  const out: ModuleLayout = {
    name: moduleName(mod, thisModule),
    thisModule,
    sections: sectionSizes(mod.elf),
    btf: btfInfo(mod.elf),
    modversions: modversionsInfo(mod.elf),
    signed: moduleSignature(mod) !== null,
  };
  const id = buildId(mod.elf);
  if (id !== undefined) out.buildId = id;
  return out;
}

/** For callers that need a hard failure when the module has no struct module. */
export function requireThisModule(elf: ElfFile): ThisModuleInfo {
  const tm = thisModuleInfo(elf);
  if (tm.count === 0) throw new KmodkitError('ENOSECTION', `module has no ${THIS_MODULE_SECTION} section`, { errno: 'ENOEXEC' });
  return tm;
}
