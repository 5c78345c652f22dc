/**
 * The per-module facts depmod uses, taken from a decoded module with the
 * lib/module and lib/elf accessors. Exports follow kmod 30's own rule
 * (kmod_elf_get_symbols): the `__crc_*` symbols of .symtab with their CRCs,
 * or, for a module without any, every string of `__ksymtab_strings`.
 */
import { EM, SHN_ABS, SHN_UNDEF, STB_WEAK, STT_SPARC_REGISTER } from '../elf/constants.js';
import { data, sectionBytes, symbolTable } from '../elf/file.js';
import { bytesOf, u32 } from '../bytes/reader.js';
import { basicModversions, type ModversionInfo } from '../module/versions.js';
import { moduleInfo, hasModinfo, type KernelModule } from '../module/module.js';
import type { DepmodImport, DepmodModuleFacts, DepmodSymbol } from './depmod.js';

const NO_CRC = 0xffffffffffffffffn;

function latin1(raw: Uint8Array): string {
  let s = '';
  for (let i = 0; i < raw.length; i += 4096) s += String.fromCharCode(...raw.subarray(i, i + 4096));
  return s;
}

function ksymtabStrings(mod: KernelModule): DepmodSymbol[] {
  const raw = sectionBytes(mod.elf, '__ksymtab_strings');
  if (!raw) return [];
  const out: DepmodSymbol[] = [];
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === 0) {
      if (i > start) out.push({ name: latin1(raw.subarray(start, i)), crc: 0n });
      start = i + 1;
    }
  }
  return out;
}

/** Exported symbols as kmod 30's depmod sees them. */
export function depmodExports(mod: KernelModule): DepmodSymbol[] {
  let st;
  try {
    st = symbolTable(mod.elf);
  } catch {
    st = null;
  }
  if (!st) return ksymtabStrings(mod);
  const out: DepmodSymbol[] = [];
  const le = mod.elf.header.le;
  for (const s of st.symbols) {
    if (s.index === 0 || !s.name.startsWith('__crc_')) continue;
    let crc = BigInt(s.value);
    if (s.shndx !== SHN_ABS && s.shndx !== SHN_UNDEF) {
      const sec = mod.elf.sections[s.shndx];
      if (!sec || s.value > sec.size - 4) crc = NO_CRC;
      else crc = BigInt(u32(bytesOf(data(mod.elf, sec), le), s.value));
    }
    out.push({ name: s.name.slice(6), crc });
  }
  return out.length ? out : ksymtabStrings(mod);
}

/**
 * Symbols the module needs, as kmod 30 lists them (kmod_elf_get_dependency_symbols):
 * every named undefined .symtab symbol with the CRC of the first __versions
 * entry of that name, then the __versions entries no symbol matched
 * (module_layout).
 */
export function depmodImports(mod: KernelModule): DepmodImport[] {
  let versions: ModversionInfo[] | null;
  try {
    versions = basicModversions(mod.elf);
  } catch {
    versions = null;
  }
  const first = new Map<string, number>();
  versions?.forEach((v, i) => { if (!first.has(v.name)) first.set(v.name, i); });
  const visited = new Uint8Array(versions?.length ?? 0);
  const st = symbolTable(mod.elf);
  const out: DepmodImport[] = [];
  const sparc = mod.elf.header.machine === EM.SPARC || mod.elf.header.machine === EM.SPARCV9;
  for (const s of st?.symbols ?? []) {
    if (s.index === 0 || s.shndx !== SHN_UNDEF || !s.name) continue;
    if (sparc && s.type === STT_SPARC_REGISTER) continue;
    const i = first.get(s.name);
    if (i !== undefined) visited[i] = 1;
    out.push({ name: s.name, weak: s.bind === STB_WEAK, crc: i !== undefined ? versions![i].crcRaw : 0n });
  }
  versions?.forEach((v, i) => { if (!visited[i]) out.push({ name: v.name, weak: false, crc: v.crcRaw }); });
  return out;
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
    ? moduleInfo(mod).filter((e) => e.key === 'alias' || e.key === 'softdep').map((e) => ({ key: e.key, value: latin1(e.valueBytes) }))
    : [];
  return { ...where, exports: depmodExports(mod), imports: depmodImports(mod), modinfo };
}
