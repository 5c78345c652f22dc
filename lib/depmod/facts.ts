/**
 * depmod's view of one module: kmod's rules (libkmod's kmod_elf_get_symbols
 * and kmod_elf_get_dependency_symbols of the chosen release) applied to the
 * module's facts (lib/module/facts.ts symbolFacts, the __versions decoder,
 * .modinfo). Nothing here reads bytes itself.
 *
 * - Exports: the `__crc_*` symbols with their CRCs (all ones when the CRC
 *   lies outside its section). A module without any, without a readable
 *   symbol table or with a symbol named outside its string table exports
 *   every string of `__ksymtab_strings` instead, with CRC 0.
 * - Dependency symbols: the named undefined symbols in table order, each
 *   with the CRC of the first __versions record of that name (0 without),
 *   then the records no symbol matched (module_layout). None at all when the
 *   symbol table is missing or unreadable or an undefined symbol is named
 *   outside the string table (libkmod's EINVAL, which depmod ignores).
 * - .modinfo: the alias, softdep and weakdep entries, in section order.
 */
import { byteString } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { strerror } from '../errno.js';
import { section, sectionBytes } from '../elf/file.js';
import { STB_WEAK } from '../elf/constants.js';
import type { KmodCompat } from '../kmod-compat.js';
import { symbolFacts, type SymbolFacts } from '../module/facts.js';
import { hasModinfo, moduleInfo, type KernelModule } from '../module/module.js';
import { basicModversions, MODVERSION_INFO_SIZE, type ModversionInfo } from '../module/versions.js';
import { crcOf, type DepmodImport, type DepmodModuleFacts, type DepmodSymbol } from './depmod.js';

/** kmod's (uint64_t)-1: a CRC it could not read. */
const NO_CRC = crcOf(0xffffffffffffffffn);

/** What depmod reads of a module, before it is placed in the tree. */
export type DepmodModuleContent = Pick<DepmodModuleFacts, 'exports' | 'imports' | 'modinfo' | 'error'>;

/** kmod_elf_get_symbols_symtab: the strings of __ksymtab_strings (an errno name when kmod refuses them). */
function ksymtabStrings(mod: KernelModule, kmod: KmodCompat): DepmodSymbol[] | 'EINVAL' {
  const raw = sectionBytes(mod.elf, '__ksymtab_strings');
  if (!raw) return [];
  let start = 0;
  while (raw.length - start > 1 && raw[start] === 0) start++;
  if (raw.length - start <= 1) return [];
  // kmod 34 refuses an unterminated table; kmod 30 takes its last string as it is
  if (kmod !== '30' && raw[raw.length - 1] !== 0) return 'EINVAL';
  const out: DepmodSymbol[] = [];
  for (let i = start; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === 0) {
      if (i > start) out.push({ name: byteString(raw.subarray(start, i)), crc: 0 });
      start = i + 1;
    }
  }
  return out;
}

/**
 * The __versions records libkmod matches dependency symbols against: null
 * without a table (or one whose size is not a multiple of a record, which
 * libkmod ignores); 'EINVAL' when kmod 34 refuses the dependency list (a
 * name that fills its field, which it never matches and then cannot list).
 */
function dependencyVersions(mod: KernelModule, kmod: KmodCompat): ModversionInfo[] | null | 'EINVAL' {
  const sec = section(mod.elf, '__versions');
  if (!sec || sec.size % MODVERSION_INFO_SIZE !== 0) return null;
  try {
    return basicModversions(mod.elf, { overrun: kmod === '30', keepDot: true });
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    return kmod === '30' ? null : 'EINVAL';
  }
}

/**
 * One string per name across modules (most modules import the same few
 * hundred symbols): `names` maps each name to the copy kept.
 */
export type NameTable = Map<string, string>;

function intern(names: NameTable | undefined, s: string): string {
  if (!names) return s;
  const kept = names.get(s);
  if (kept !== undefined) return kept;
  names.set(s, s);
  return s;
}

/** kmod_elf_get_dependency_symbols over the module's facts. */
function dependencySymbols(mod: KernelModule, facts: SymbolFacts | null, kmod: KmodCompat, names: NameTable | undefined): DepmodImport[] {
  if (!facts || facts.badUndefinedName) return [];
  const versions = dependencyVersions(mod, kmod);
  if (versions === 'EINVAL') return [];
  const versionNames = versions?.map((v) => byteString(v.nameBytes)) ?? [];
  const first = new Map<string, number>();
  for (let i = versionNames.length - 1; i >= 0; i--) first.set(versionNames[i], i);
  const visited = new Uint8Array(versionNames.length);
  const out: DepmodImport[] = [];
  for (const u of facts.undefined) {
    const i = first.get(u.name);
    if (i !== undefined) visited[i] = 1;
    out.push({ name: intern(names, u.name), weak: u.bind === STB_WEAK, crc: i !== undefined ? crcOf(versions![i].crcRaw) : 0 });
  }
  for (let i = 0; i < versionNames.length; i++) if (!visited[i]) out.push({ name: intern(names, versionNames[i]), weak: false, crc: crcOf(versions![i].crcRaw) });
  return out;
}

/** kmod_elf_get_symbols over the module's facts. */
function exportedSymbols(mod: KernelModule, facts: SymbolFacts | null, kmod: KmodCompat): DepmodSymbol[] | 'EINVAL' {
  if (facts && !facts.badName && facts.crcs.length) return facts.crcs.map((c) => ({ name: c.name, crc: c.crc === undefined ? NO_CRC : crcOf(c.crc) }));
  return ksymtabStrings(mod, kmod);
}

function modinfoOf(mod: KernelModule): DepmodModuleFacts['modinfo'] {
  if (!hasModinfo(mod)) return [];
  try {
    const out: { key: string; value: string }[] = [];
    for (const e of moduleInfo(mod)) {
      if (e.key === 'alias' || e.key === 'softdep' || e.key === 'weakdep') out.push({ key: e.key, value: byteString(e.valueBytes) });
    }
    return out;
  } catch (e) {
    if (e instanceof KmodkitError) return []; // kmod ignores a .modinfo it cannot list
    throw e;
  }
}

/**
 * Everything depmod reads of one decoded module, by the rules of kmod release
 * `kmod`; dependency symbol names through `names` when given (NameTable).
 */
export function depmodContent(mod: KernelModule, kmod: KmodCompat, names?: NameTable): DepmodModuleContent {
  const facts = symbolFacts(mod.elf);
  const exports = exportedSymbols(mod, facts, kmod);
  const content = { imports: dependencySymbols(mod, facts, kmod, names), modinfo: modinfoOf(mod) };
  return exports === 'EINVAL' ? { exports: [], ...content, error: strerror('EINVAL') } : { exports, ...content };
}

/** The content of a module that could not be read at all (errno name `errno`): kmod lists it with no symbols, and says why. */
export function unreadableContent(errno: string | undefined): DepmodModuleContent {
  return { exports: [], imports: [], modinfo: [], error: strerror(errno ?? 'EINVAL') };
}
