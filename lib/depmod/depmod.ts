/**
 * depmod's computation, pure: from per-module facts to the bytes of every
 * file kmod's depmod writes (modules.dep, .alias, .symbols, their .bin
 * indexes, modules.builtin*.bin, .softdep, .weakdep, .devname), in kmod's
 * order, as kmod 34.2 writes them by default and as kmod 30 does with
 * `kmod: '30'` (no modules.weakdep; .bin nodes after their children).
 * tools/depmod.c of kmod v30 and v34.2 is the authority for every rule here.
 */
import { KmodkitError } from '../errors.js';
import { DEFAULT_KMOD_COMPAT, type KmodCompat } from '../kmod-compat.js';
import { aliasNormalize, modnameFromPath } from '../modindex/names.js';
import { indexCreate, indexInsert, indexWrite } from '../modindex/index-bin-write.js';
import { kmodHashOrder } from './kmod-hash.js';

export interface DepmodSymbol { readonly name: string; readonly crc: bigint }
export interface DepmodImport extends DepmodSymbol { readonly weak: boolean }

/** What depmod needs to know about one module file. */
export interface DepmodModuleFacts {
  /** Module name from the file name ('-' → '_', up to the first '.'). */
  readonly name: string;
  /** Path as modules.dep shows it: relative to the modules dir, or absolute outside it. */
  readonly path: string;
  /** Full path (for messages). */
  readonly absPath: string;
  /** relpath with the compression suffix removed (…/x.ko), matched against modules.order; absent outside the dir. */
  readonly uncompressedPath?: string;
  /** Exported symbols (kmod's rule: __crc_* symbols, else the strings of __ksymtab_strings). */
  readonly exports: readonly DepmodSymbol[];
  /** Undefined symbols, symbol-table order. */
  readonly imports: readonly DepmodImport[];
  /** .modinfo entries in section order (only alias, softdep and weakdep are used). */
  readonly modinfo: readonly { key: string; value: string }[];
}

export interface DepmodOptions {
  /** Text of DIR/modules.order, when present. */
  readonly modulesOrder?: string;
  /** Text of DIR/modules.builtin, when present. */
  readonly modulesBuiltin?: string;
  /** Bytes of DIR/modules.builtin.modinfo, when present. */
  readonly builtinModinfo?: Uint8Array;
  /** Kernel symbols from -E (vmlinux lines) or -F; undefined when neither was given. */
  readonly kernelSymbols?: readonly DepmodSymbol[];
  /** -E given: compare CRCs. */
  readonly checkSymvers?: boolean;
  /** -e: report unknown symbols (and CRC mismatches with -E). */
  readonly printUnknown?: boolean;
  /** -w */
  readonly warnDups?: boolean;
  /** -P */
  readonly symbolPrefix?: string;
  /** The modules dir, for messages. */
  readonly dirname?: string;
  /** -v: report each dependency found (kmod prints these on stdout). */
  readonly verbose?: boolean;
  /** -n: text files only (kmod's .bin writers write nothing to stdout, and say nothing). */
  readonly textOnly?: boolean;
  /** The kmod release whose files are written: '34' (default) or '30'. */
  readonly kmod?: KmodCompat;
}

export interface DepmodFile { readonly name: string; readonly data: Uint8Array; readonly binary: boolean }

export interface DepmodResult {
  /** In kmod's write order. */
  readonly files: DepmodFile[];
  /** Complete stderr lines ("depmod: WARNING: …"), in the order kmod emits them. */
  readonly messages: string[];
  /** -v: stdout lines `PATH needs "SYMBOL": OWNERPATH`. */
  readonly shown: string[];
}

interface Mod {
  readonly facts: DepmodModuleFacts;
  idx: number;
  deps: Mod[];
  users: number;
  depSortIdx: number;
}
interface Sym { readonly name: string; readonly crc: bigint; readonly owner: Mod | null }

/** kmod's module array: hash order of names, then modules.order lines first (stable sort). */
function orderModules(facts: readonly DepmodModuleFacts[], opts: DepmodOptions, messages: string[]): Mod[] {
  const byName = new Map<string, DepmodModuleFacts>();
  for (const f of facts) byName.set(f.name, f);
  const mods: Mod[] = kmodHashOrder(byName.keys(), 512).map((n) => ({ facts: byName.get(n)!, idx: 0, deps: [], users: 0, depSortIdx: 0 }));
  const text = opts.modulesOrder;
  if (text !== undefined) {
    const byPath = new Map<string, Mod>();
    for (const m of mods) if (m.facts.uncompressedPath !== undefined) byPath.set(m.facts.uncompressedPath, m);
    const lines = text.split('\n');
    const complete = text.endsWith('\n') || text.length === 0;
    if (!complete) {
      messages.push(`depmod: ERROR: ${opts.dirname ?? '.'}/modules.order:${lines.length} corrupted line misses '\\n'`);
    } else {
      lines.pop();
      const total = lines.length + 1;
      const key = new Map<Mod, number>();
      lines.forEach((line, i) => {
        const m = byPath.get(line);
        if (m) key.set(m, i + 1 - total);
      });
      mods.sort((a, b) => (key.get(a) ?? 1) - (key.get(b) ?? 1));
    }
  }
  mods.forEach((m, i) => { m.idx = i; });
  return mods;
}

function symbolTable(mods: readonly Mod[], opts: DepmodOptions): Map<string, Sym> {
  const prefix = opts.symbolPrefix ?? '';
  const symbols = new Map<string, Sym>();
  const add = (name: string, crc: bigint, owner: Mod | null, prefixSkipped: boolean): void => {
    if (!prefixSkipped && prefix && name[0] === prefix) name = name.slice(1);
    symbols.set(name, { name, crc, owner });
  };
  if (opts.kernelSymbols) {
    for (const s of opts.kernelSymbols) add(s.name, s.crc, null, true);
    add('__this_module', 0n, null, true);
    add('_GLOBAL_OFFSET_TABLE_', 0n, null, true);
    if (!symbols.has('TOC.')) add('TOC.', 0n, null, true);
  }
  for (const m of mods) for (const e of m.facts.exports) add(e.name, e.crc, m, false);
  return symbols;
}

function resolveDependencies(mods: readonly Mod[], symbols: Map<string, Sym>, opts: DepmodOptions, messages: string[], shown: string[]): void {
  const prefix = opts.symbolPrefix ?? '';
  for (const m of mods) {
    for (const imp of m.facts.imports) {
      let name = imp.name;
      if (name[0] === '.') name = name.slice(1);
      if (prefix && name[0] === prefix) name = name.slice(1);
      const sym = symbols.get(name);
      if (!sym) {
        if (opts.printUnknown && !imp.weak) messages.push(`depmod: WARNING: ${m.facts.absPath} needs unknown symbol ${imp.name}`);
        continue;
      }
      if (opts.checkSymvers && sym.crc !== imp.crc && !imp.weak && opts.printUnknown) {
        messages.push(`depmod: WARNING: ${m.facts.absPath} disagrees about version of symbol ${imp.name}`);
      }
      if (sym.owner && !m.deps.includes(sym.owner)) {
        m.deps.push(sym.owner);
        sym.owner.users++;
        if (opts.verbose) shown.push(`${m.facts.absPath} needs "${sym.name}": ${sym.owner.facts.absPath}`);
      }
    }
  }
}

/** Kahn's sort with a LIFO stack, as kmod; returns the modules left in cycles. */
function sortDependencies(mods: readonly Mod[]): Mod[] {
  const users = mods.map((m) => m.users);
  const roots: number[] = [];
  mods.forEach((m, i) => { if (users[i] === 0) roots.push(i); });
  let sorted = 0;
  while (roots.length) {
    const src = mods[roots.pop()!];
    src.depSortIdx = sorted++;
    for (const dst of src.deps) {
      if (--users[dst.idx] === 0) roots.push(dst.idx);
    }
  }
  if (sorted < mods.length) return mods.filter((_, i) => users[i] > 0);
  for (const m of mods) if (m.deps.length > 1) m.deps.sort((a, b) => a.depSortIdx - b.depSortIdx);
  return [];
}

function allDependencies(m: Mod): Mod[] {
  const seen = new Set<Mod>();
  const walk = (x: Mod): void => {
    for (const d of x.deps) {
      if (seen.has(d)) continue;
      seen.add(d);
      walk(d);
    }
  };
  walk(m);
  return [...seen].sort((a, b) => a.depSortIdx - b.depSortIdx);
}

/** One line per cycle, in kmod's words (each cycle once). */
function cycleMessages(cyclic: readonly Mod[]): string[] {
  const out: string[] = [];
  const inCycle = new Set(cyclic);
  const reported = new Set<Mod>();
  const members = new Set<Mod>();
  for (const start of cyclic) {
    if (reported.has(start)) continue;
    // Follow deps inside the cyclic set until a module repeats.
    const path: Mod[] = [];
    const pos = new Map<Mod, number>();
    let cur: Mod | undefined = start;
    while (cur && !pos.has(cur)) {
      pos.set(cur, path.length);
      path.push(cur);
      cur = cur.deps.find((d) => inCycle.has(d));
    }
    if (!cur) continue;
    const loop = path.slice(pos.get(cur)!);
    if (loop.some((x) => reported.has(x))) { for (const x of path) reported.add(x); continue; }
    for (const x of loop) { reported.add(x); members.add(x); }
    out.push(`depmod: ERROR: Cycle detected: ${[...loop, cur].map((x) => x.facts.name).join(' -> ')}`);
  }
  out.push(`depmod: ERROR: Found ${members.size} modules in dependency cycles!`);
  return out;
}

/** Text files carry the bytes kmod wrote: every string here holds one byte per char (latin1). */
function textFile(name: string, s: string): DepmodFile {
  const data = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
  return { name, data, binary: false };
}

function values(m: Mod, key: string): string[] {
  const out: string[] = [];
  for (const e of m.facts.modinfo) if (e.key === key) out.push(e.value);
  return out;
}

function missing(name: string, opts: DepmodOptions): string {
  return `depmod: WARNING: could not open ${name} at ${opts.dirname ?? '.'}: No such file or directory`;
}

function builtinBin(text: string | undefined, opts: DepmodOptions, messages: string[], kmod: KmodCompat): Uint8Array {
  if (text === undefined) { messages.push(missing('modules.builtin', opts)); return new Uint8Array(0); }
  const idx = indexCreate();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = i < lines.length - 1 || text.endsWith('\n') ? lines[i] + '\n' : lines[i];
    if (!/^[A-Za-z]/.test(line)) {
      messages.push(`depmod: ERROR: Invalid modules.builtin line: ${line}`);
      continue;
    }
    indexInsert(idx, modnameFromPath(line), '', 0);
  }
  return indexWrite(idx, kmod);
}

/** modules.builtin.modinfo records "modname.key=value\0", read as kmod's stream parser does. */
function builtinAliasBin(data: Uint8Array | undefined, opts: DepmodOptions, messages: string[], kmod: KmodCompat): Uint8Array {
  if (data === undefined) { messages.push(missing('modules.builtin.modinfo', opts)); return new Uint8Array(0); }
  const idx = indexCreate();
  let p = 0;
  // Read up to endchar (stopping at NUL/EOF too); null unless it stopped at endchar.
  const readTo = (endchar: number): string | null => {
    const start = p;
    while (p < data.length && data[p] !== endchar && data[p] !== 0) p++;
    const s = String.fromCharCode(...data.subarray(start, p));
    const hit = p < data.length && data[p] === endchar;
    if (p < data.length) p++;
    return hit ? s : null;
  };
  while (p < data.length) {
    const modname = readTo(0x2e);
    if (!modname) continue;
    const key = readTo(0x3d) ?? '';
    if (key !== 'alias') { readTo(0); continue; }
    const value = readTo(0);
    if (!value) continue;
    const alias = aliasNormalize(value);
    if (alias === null) { messages.push(`depmod: WARNING: Unmatched bracket in ${value}`); continue; }
    indexInsert(idx, alias, modname, 0);
  }
  return indexWrite(idx, kmod);
}

function devnameFile(mods: readonly Mod[], messages: string[]): string {
  let out = '';
  for (const m of mods) {
    let devname: string | null = null;
    let type = '';
    let major = 0, minor = 0;
    for (const value of values(m, 'alias')) {
      let mm: RegExpMatchArray | null;
      if (value.startsWith('devname:')) devname = value.slice(8);
      else if ((mm = /^char-major-(\d+)-(\d+)/.exec(value))) { type = 'c'; major = Number(mm[1]); minor = Number(mm[2]); }
      else if ((mm = /^block-major-(\d+)-(\d+)/.exec(value))) { type = 'b'; major = Number(mm[1]); minor = Number(mm[2]); }
      if (type && devname !== null) break;
    }
    if (devname === null) continue;
    if (!type) {
      messages.push(`depmod: ERROR: Module '${m.facts.name}' has devname (${devname}) but lacks major and minor information. Ignoring.`);
      continue;
    }
    if (!out) out = '# Device nodes to trigger on-demand module loading.\n';
    out += `${m.facts.name} ${devname} ${type}${major >>> 0}:${minor >>> 0}\n`;
  }
  return out;
}

/**
 * Compute every depmod output file. Throws KmodkitError 'EDEPCYCLE' (with the
 * messages in `detail.messages`) when modules depend on each other in a cycle.
 */
export function depmod(facts: readonly DepmodModuleFacts[], opts: DepmodOptions = {}): DepmodResult {
  const messages: string[] = [];
  const kmod = opts.kmod ?? DEFAULT_KMOD_COMPAT;
  const mods = orderModules(facts, opts, messages);
  const symbols = symbolTable(mods, opts);
  const shown: string[] = [];
  resolveDependencies(mods, symbols, opts, messages, shown);
  const cyclic = sortDependencies(mods);
  if (cyclic.length) {
    messages.push(...cycleMessages(cyclic));
    throw new KmodkitError('EDEPCYCLE', `Found ${cyclic.length} modules in dependency cycles!`, { detail: { messages } });
  }
  const files: DepmodFile[] = [];

  let dep = '';
  const depIdx = indexCreate();
  for (const m of mods) {
    let line = `${m.facts.path}:`;
    if (m.deps.length) for (const d of allDependencies(m)) line += ` ${d.facts.path}`;
    dep += line + '\n';
    if (indexInsert(depIdx, m.facts.name, line, m.idx) && opts.warnDups) messages.push(`depmod: WARNING: duplicate module deps:\n${line}`);
  }
  files.push(textFile('modules.dep', dep));
  files.push({ name: 'modules.dep.bin', data: indexWrite(depIdx, kmod), binary: true });

  let alias = '# Aliases extracted from modules themselves.\n';
  const aliasIdx = indexCreate();
  for (const m of mods) {
    for (const v of values(m, 'alias')) {
      alias += `alias ${v} ${m.facts.name}\n`;
    }
  }
  for (const m of opts.textOnly ? [] : mods) {
    for (const v of values(m, 'alias')) {
      const norm = aliasNormalize(v);
      if (norm === null) { messages.push(`depmod: WARNING: Unmatched bracket in ${v}`); continue; }
      if (indexInsert(aliasIdx, norm, m.facts.name, m.idx) && opts.warnDups) messages.push(`depmod: WARNING: duplicate module alias:\n${norm} ${m.facts.name}`);
    }
  }
  files.push(textFile('modules.alias', alias));
  files.push({ name: 'modules.alias.bin', data: indexWrite(aliasIdx, kmod), binary: true });

  let softdep = '# Soft dependencies extracted from modules themselves.\n';
  for (const m of mods) for (const v of values(m, 'softdep')) softdep += `softdep ${m.facts.name} ${v}\n`;
  files.push(textFile('modules.softdep', softdep));

  if (kmod !== '30') {
    let weakdep = '# Weak dependencies extracted from modules themselves.\n';
    for (const m of mods) for (const v of values(m, 'weakdep')) weakdep += `weakdep ${m.facts.name} ${v}\n`;
    files.push(textFile('modules.weakdep', weakdep));
  }

  let syms = '# Aliases for symbols, used by symbol_request().\n';
  const symIdx = indexCreate();
  for (const name of kmodHashOrder(symbols.keys(), 2048)) {
    const s = symbols.get(name)!;
    if (!s.owner) continue;
    syms += `alias symbol:${s.name} ${s.owner.facts.name}\n`;
    if (indexInsert(symIdx, `symbol:${s.name}`, s.owner.facts.name, s.owner.idx) && opts.warnDups) {
      messages.push(`depmod: WARNING: duplicate module syms:\nsymbol:${s.name} ${s.owner.facts.name}`);
    }
  }
  files.push(textFile('modules.symbols', syms));
  files.push({ name: 'modules.symbols.bin', data: indexWrite(symIdx, kmod), binary: true });

  if (!opts.textOnly) {
    files.push({ name: 'modules.builtin.bin', data: builtinBin(opts.modulesBuiltin, opts, messages, kmod), binary: true });
    files.push({ name: 'modules.builtin.alias.bin', data: builtinAliasBin(opts.builtinModinfo, opts, messages, kmod), binary: true });
  }
  files.push(textFile('modules.devname', devnameFile(mods, messages)));
  return { files: opts.textOnly ? files.filter((f) => !f.binary) : files, messages, shown };
}
