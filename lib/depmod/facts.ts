/**
 * The per-module facts depmod uses, taken from a decoded module with the
 * lib/elf and lib/module accessors, following kmod 30's own rules:
 * exports are the `__crc_*` symbols of .symtab with their CRCs, or, for a
 * module without any, every string of `__ksymtab_strings`
 * (kmod_elf_get_symbols); imports are every named undefined symbol with the
 * CRC of its __versions entry, then the __versions entries no symbol matched,
 * such as module_layout (kmod_elf_get_dependency_symbols).
 * .symtab is scanned in place (no per-symbol objects): depmod reads every
 * symbol of thousands of modules.
 */
import { EM, SHN_ABS, SHN_UNDEF, STB_WEAK, STT_SPARC_REGISTER } from '../elf/constants.js';
import { data, sectionBytes } from '../elf/file.js';
import { findSymtab } from '../elf/symbols.js';
import { bytesOf, u32, type Bytes } from '../bytes/reader.js';
import { basicModversions, type ModversionInfo } from '../module/versions.js';
import { moduleInfo, hasModinfo, type KernelModule } from '../module/module.js';
import type { DepmodImport, DepmodModuleFacts, DepmodSymbol } from './depmod.js';

const NO_CRC = 0xffffffffffffffffn;
const CRC_PREFIX = [0x5f, 0x5f, 0x63, 0x72, 0x63, 0x5f]; // "__crc_"

function latin1(raw: Uint8Array, from = 0, to = raw.length): string {
  let s = '';
  for (let i = from; i < to; i += 4096) s += String.fromCharCode(...raw.subarray(i, Math.min(to, i + 4096)));
  return s;
}

function cstr(raw: Uint8Array, off: number): string {
  let end = off;
  while (end < raw.length && raw[end] !== 0) end++;
  return latin1(raw, off, end);
}

function ksymtabStrings(mod: KernelModule): DepmodSymbol[] {
  const raw = sectionBytes(mod.elf, '__ksymtab_strings');
  if (!raw) return [];
  const out: DepmodSymbol[] = [];
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === 0) {
      if (i > start) out.push({ name: latin1(raw, start, i), crc: 0n });
      start = i + 1;
    }
  }
  return out;
}

function versionsOf(mod: KernelModule): ModversionInfo[] | null {
  try {
    return basicModversions(mod.elf);
  } catch {
    return null; // kmod ignores a malformed __versions
  }
}

function wordAt(b: Bytes, off: number, is64: boolean): bigint {
  return is64 ? BigInt(u32(b, off + (b.le ? 0 : 4))) + (BigInt(u32(b, off + (b.le ? 4 : 0))) << 32n) : BigInt(u32(b, off));
}

/** Exports and imports in one pass over .symtab. */
export function depmodSymbols(mod: KernelModule): { exports: DepmodSymbol[]; imports: DepmodImport[] } {
  const { elf } = mod;
  const versions = versionsOf(mod);
  const first = new Map<string, number>();
  versions?.forEach((v, i) => { if (!first.has(v.name)) first.set(v.name, i); });
  const visited = new Uint8Array(versions?.length ?? 0);
  const exports: DepmodSymbol[] = [];
  const imports: DepmodImport[] = [];
  const st = findSymtab(elf.sections);
  let symtabOk = false;
  if (st && st.link > 0 && st.link < elf.sections.length) {
    const is64 = elf.header.class === 64;
    const size = is64 ? 24 : 16;
    let raw: Uint8Array | null = null, strtab: Uint8Array | null = null;
    try { raw = data(elf, st); strtab = data(elf, elf.sections[st.link]); } catch { raw = null; }
    if (raw && strtab && raw.length % size === 0) {
      symtabOk = true;
      const b = bytesOf(raw, elf.header.le);
      const sparc = elf.header.machine === EM.SPARC || elf.header.machine === EM.SPARCV9;
      for (let o = size; o < raw.length; o += size) {
        const nameOff = u32(b, o);
        const info = raw[o + (is64 ? 4 : 12)];
        const shndx = elf.header.le ? raw[o + (is64 ? 6 : 14)] | (raw[o + (is64 ? 7 : 15)] << 8) : (raw[o + (is64 ? 6 : 14)] << 8) | raw[o + (is64 ? 7 : 15)];
        if (nameOff >= strtab.length) continue;
        if (shndx === SHN_UNDEF) {
          if (sparc && (info & 0xf) === STT_SPARC_REGISTER) continue;
          if (strtab[nameOff] === 0) continue;
          const name = cstr(strtab, nameOff);
          const i = first.get(name);
          if (i !== undefined) visited[i] = 1;
          imports.push({ name, weak: info >> 4 === STB_WEAK, crc: i !== undefined ? versions![i].crcRaw : 0n });
          continue;
        }
        let k = 0;
        while (k < 6 && strtab[nameOff + k] === CRC_PREFIX[k]) k++;
        if (k < 6) continue;
        const value = wordAt(b, o + (is64 ? 8 : 4), is64);
        let crc = value;
        if (shndx !== SHN_ABS) {
          const sec = elf.sections[shndx];
          if (!sec || value > BigInt(sec.size - 4)) crc = NO_CRC;
          else crc = BigInt(u32(bytesOf(data(elf, sec), elf.header.le), Number(value)));
        }
        exports.push({ name: cstr(strtab, nameOff + 6), crc });
      }
    }
  }
  versions?.forEach((v, i) => { if (!visited[i]) imports.push({ name: v.name, weak: false, crc: v.crcRaw }); });
  return { exports: symtabOk && exports.length ? exports : ksymtabStrings(mod), imports };
}

export interface ModuleLocation {
  readonly name: string;
  readonly path: string;
  readonly absPath: string;
  readonly uncompressedPath?: string;
}

/** Everything depmod needs from one decoded module. */
export function depmodFacts(mod: KernelModule, where: ModuleLocation): DepmodModuleFacts {
  const modinfo = hasModinfo(mod)
    ? moduleInfo(mod).filter((e) => e.key === 'alias' || e.key === 'softdep' || e.key === 'weakdep').map((e) => ({ key: e.key, value: latin1(e.valueBytes) }))
    : [];
  return { ...where, ...depmodSymbols(mod), modinfo };
}
