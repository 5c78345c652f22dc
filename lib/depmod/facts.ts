/**
 * depmod's view of one module: kmod's rules (libkmod's kmod_elf_get_symbols
 * and kmod_elf_get_dependency_symbols of the chosen release) applied to the
 * module's facts (lib/module/symbol-facts.ts symbolFacts, the __versions decoder,
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
import { latin1String, byteStringTable, type ByteStringTable } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { strerror } from '../errno.js';
import { section, sectionBytes } from '../elf/file.js';
import { STB_WEAK } from '../elf/constants.js';
import type { KmodCompat } from '../kmod-compat.js';
import { symbolFacts, type SymbolFacts } from '../module/symbol-facts.js';
import { hasModinfo, moduleInfo, type KernelModule } from '../module/module.js';
import { forEachModversion, MODVERSION_INFO_SIZE } from '../module/versions.js';
import { crcOf, crcOfHalves, type Crc, type DepmodImports, type DepmodModuleFacts, type DepmodSymbol } from './depmod.js';

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
      if (i > start) out.push({ name: latin1String(raw.subarray(start, i)), crc: 0 });
      start = i + 1;
    }
  }
  return out;
}

/** The __versions records as libkmod matches them: names as stored (a leading '.' kept) and whole CRC fields. */
interface VersionRecords { readonly names: string[]; readonly crcs: Crc[] }

/**
 * The __versions records libkmod matches dependency symbols against: null
 * without a table (or one whose size is not a multiple of a record, which
 * libkmod ignores); 'EINVAL' when kmod 34 refuses the dependency list (a
 * name that fills its field, which it never matches and then cannot list).
 */
function dependencyVersions(mod: KernelModule, kmod: KmodCompat, names: ByteStringTable): VersionRecords | null | 'EINVAL' {
  const sec = section(mod.elf, '__versions');
  if (!sec || sec.size % MODVERSION_INFO_SIZE !== 0) return null;
  const out: VersionRecords = { names: [], crcs: [] };
  try {
    forEachModversion(mod.elf, { overrun: kmod === '30', keepDot: true }, (bytes, start, end, low, high) => {
      out.names.push(names.intern(bytes, start, end));
      out.crcs.push(crcOfHalves(low, high));
    });
    return out;
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    return kmod === '30' ? null : 'EINVAL';
  }
}

const NO_IMPORTS: DepmodImports = { names: [], crcs: [], weak: new Uint8Array(0) };

/** kmod_elf_get_dependency_symbols over the module's facts. */
function dependencySymbols(mod: KernelModule, facts: SymbolFacts | null, kmod: KmodCompat, names: ByteStringTable): DepmodImports {
  if (!facts || facts.badUndefinedName) return NO_IMPORTS;
  const versions = dependencyVersions(mod, kmod, names);
  if (versions === 'EINVAL') return NO_IMPORTS;
  const versionNames = versions?.names ?? [];
  const first = new Map<string, number>();
  for (let i = versionNames.length - 1; i >= 0; i--) first.set(versionNames[i], i);
  const visited = new Uint8Array(versionNames.length);
  const undef = facts.undefined;
  const outNames: string[] = [];
  const crcs: Crc[] = [];
  const weak = new Uint8Array(undef.length + versionNames.length);
  for (const u of undef) {
    const i = first.get(u.name);
    if (i !== undefined) visited[i] = 1;
    if (u.bind === STB_WEAK) weak[outNames.length] = 1;
    outNames.push(u.name);
    crcs.push(i !== undefined ? versions!.crcs[i] : 0);
  }
  for (let i = 0; i < versionNames.length; i++) {
    if (visited[i]) continue;
    outNames.push(versionNames[i]);
    crcs.push(versions!.crcs[i]);
  }
  return { names: outNames, crcs, weak: weak.length === outNames.length ? weak : weak.slice(0, outNames.length) };
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
      if (e.key === 'alias' || e.key === 'softdep' || e.key === 'weakdep') out.push({ key: e.key, value: latin1String(e.valueBytes) });
    }
    return out;
  } catch (e) {
    if (e instanceof KmodkitError) return []; // kmod ignores a .modinfo it cannot list
    throw e;
  }
}

/**
 * Everything depmod reads of one decoded module, by the rules of kmod release
 * `kmod`; symbol names through `names` (one string per distinct name across
 * the modules of a run).
 */
export function depmodContent(mod: KernelModule, kmod: KmodCompat, names: ByteStringTable = byteStringTable()): DepmodModuleContent {
  const facts = symbolFacts(mod.elf, names);
  const exports = exportedSymbols(mod, facts, kmod);
  const content = { imports: dependencySymbols(mod, facts, kmod, names), modinfo: modinfoOf(mod) };
  return exports === 'EINVAL' ? { exports: [], ...content, error: strerror('EINVAL') } : { exports, ...content };
}

/** The content of a module that could not be read at all (errno name `errno`): kmod lists it with no symbols, and says why. */
export function unreadableContent(errno: string | undefined): DepmodModuleContent {
  return { exports: [], imports: NO_IMPORTS, modinfo: [], error: strerror(errno ?? 'EINVAL') };
}
