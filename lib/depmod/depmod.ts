/**
 * depmod's computation, pure: from per-module facts to the bytes of every
 * file kmod's depmod writes (modules.dep, .alias, .symbols, their .bin
 * indexes, modules.builtin*.bin, .softdep, .weakdep, .devname), in kmod's
 * order, as kmod 34.2 writes them by default and as kmod 30 does with
 * `kmod: '30'` (no modules.weakdep; .bin nodes after their children).
 * tools/depmod.c of kmod v30 and v34.2 is the authority for every rule here.
 *
 * Text is carried as byte strings (one char per byte, lib/bytes latin1String):
 * module data and paths alike, so every file and message has exactly the
 * bytes kmod writes.
 */
import { KmodkitError } from '../errors.js';
import { DEFAULT_KMOD_COMPAT, type KmodCompat } from '../kmod-compat.js';
import { aliasNormalize, modnameFromPath } from '../modindex/names.js';
import { indexCreate, indexInsert, indexWrite, type IndexNode } from '../modindex/index-bin-write.js';
import { latin1String } from '../bytes/reader.js';
import { kmodHashOrder } from './kmod-hash.js';

/**
 * A symbol CRC: the 64-bit value kmod compares, as a number when it fits in
 * 53 bits (every real CRC: 32 bits), else a bigint. Always made with crcOf,
 * so that equal values compare equal with ===.
 */
export type Crc = number | bigint;

/** The Crc for a 64-bit value. */
export function crcOf(v: bigint): Crc {
  return v <= 0x1fffffffffffffn ? Number(v) : v;
}

/** The Crc of a 64-bit value given as its two 32-bit halves. */
export function crcOfHalves(lo: number, hi: number): Crc {
  return hi < 0x200000 ? hi * 0x100000000 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

export interface DepmodSymbol { readonly name: string; readonly crc: Crc }
export interface DepmodImport extends DepmodSymbol { readonly weak: boolean }

/**
 * A module's dependency symbols, by column (a module needs hundreds and a
 * tree holds hundreds of thousands: three arrays per module, not an object
 * per symbol).
 */
export interface DepmodImports {
  readonly names: readonly string[];
  readonly crcs: readonly Crc[];
  /** 1 for a weak symbol. */
  readonly weak: Uint8Array;
}

/** DepmodImports from a list of symbols. */
export function depmodImports(list: readonly DepmodImport[]): DepmodImports {
  return { names: list.map((i) => i.name), crcs: list.map((i) => i.crc), weak: Uint8Array.from(list, (i) => (i.weak ? 1 : 0)) };
}

/** The symbols of a DepmodImports, as a list. */
export function importList(imports: DepmodImports): DepmodImport[] {
  return imports.names.map((name, i) => ({ name, crc: imports.crcs[i], weak: imports.weak[i] === 1 }));
}

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
  /** Dependency symbols: undefined symbols in symbol-table order, then unmatched __versions records. */
  readonly imports: DepmodImports;
  /** .modinfo entries in section order (only alias, softdep and weakdep are used). */
  readonly modinfo: readonly { key: string; value: string }[];
  /**
   * Why kmod could not list the module's symbols (strerror text), when it
   * could not: depmod reports "failed to load symbols from PATH: ERROR" and
   * keeps the module, with whatever else it could read.
   */
  readonly error?: string;
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
  /**
   * In kmod's write order. When `failed`, the files kmod writes before it
   * stops (the ones before the index it could not build).
   */
  readonly files: DepmodFile[];
  /**
   * kmod 34 stopped while building an index (a key or value with a byte
   * above 0x7f: "FATAL: Module index: bad character"): exit 1 after writing
   * `files`.
   */
  readonly failed?: boolean;
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
  /** The modinfo values depmod writes, by key, in section order. */
  readonly alias: string[];
  readonly softdep: string[];
  readonly weakdep: string[];
}
interface Sym { readonly name: string; readonly crc: Crc; readonly owner: Mod | null }

function newMod(facts: DepmodModuleFacts): Mod {
  const m: Mod = { facts, idx: 0, deps: [], users: 0, depSortIdx: 0, alias: [], softdep: [], weakdep: [] };
  for (const e of facts.modinfo) {
    if (e.key === 'alias') m.alias.push(e.value);
    else if (e.key === 'softdep') m.softdep.push(e.value);
    else if (e.key === 'weakdep') m.weakdep.push(e.value);
  }
  return m;
}

/** fgets(line, PATH_MAX): a longer modules.order line is read in pieces, the first without its '\n'. */
const ORDER_LINE_MAX = 4095;

/**
 * kmod's module array: hash order of names, then the modules listed in
 * modules.order first, in their order (a stable sort: glibc's qsort is a
 * merge sort). A module listed twice counts at its last line for kmod 30
 * and at its first for kmod 34. A line without its '\n' (the last one, one
 * too long for kmod's buffer, or one with a NUL byte) stops the sort.
 */
function orderModules(facts: readonly DepmodModuleFacts[], opts: DepmodOptions, kmod: KmodCompat, messages: string[]): Mod[] {
  const byName = new Map<string, DepmodModuleFacts>();
  for (const f of facts) byName.set(f.name, f);
  const mods: Mod[] = kmodHashOrder(byName.keys(), 512).map((n) => newMod(byName.get(n)!));
  const text = opts.modulesOrder;
  if (text !== undefined) {
    const byPath = new Map<string, Mod>();
    for (const m of mods) if (m.facts.uncompressedPath !== undefined) byPath.set(m.facts.uncompressedPath, m);
    const lines = text.split('\n');
    const last = lines.pop()!; // '' when the text ends with '\n'
    let corrupted = last === '' ? 0 : lines.length + 1;
    for (let i = 0; i < lines.length && !corrupted; i++) {
      const line = lines[i];
      const nul = line.indexOf('\0');
      if (line.length >= ORDER_LINE_MAX || nul > 0) corrupted = i + 1;
      else if (nul === 0) lines[i] = ''; // strlen() 0: skipped
    }
    if (corrupted) {
      messages.push(`depmod: ERROR: ${opts.dirname ?? '.'}/modules.order:${corrupted} corrupted line misses '\\n'`);
    } else {
      const key = new Map<Mod, number>();
      lines.forEach((line, i) => {
        const m = line ? byPath.get(line) : undefined;
        if (m && (kmod === '30' || !key.has(m))) key.set(m, i - lines.length - 1);
      });
      if (key.size) mods.sort((a, b) => (key.get(a) ?? 1) - (key.get(b) ?? 1));
    }
  }
  mods.forEach((m, i) => { m.idx = i; });
  return mods;
}

function symbolTable(mods: readonly Mod[], opts: DepmodOptions): Map<string, Sym> {
  const prefix = opts.symbolPrefix ?? '';
  const symbols = new Map<string, Sym>();
  const add = (name: string, crc: Crc, owner: Mod | null, prefixSkipped: boolean): void => {
    if (!prefixSkipped && prefix && name[0] === prefix) name = name.slice(1);
    symbols.set(name, { name, crc, owner });
  };
  if (opts.kernelSymbols) {
    for (const s of opts.kernelSymbols) add(s.name, s.crc, null, true);
    add('__this_module', 0, null, true);
    add('_GLOBAL_OFFSET_TABLE_', 0, null, true);
    if (!symbols.has('TOC.')) add('TOC.', 0, null, true);
  }
  for (const m of mods) for (const e of m.facts.exports) add(e.name, e.crc, m, false);
  return symbols;
}

function resolveDependencies(mods: readonly Mod[], symbols: Map<string, Sym>, opts: DepmodOptions, messages: string[], shown: string[]): void {
  const prefix = opts.symbolPrefix ?? '';
  const prefixCode = prefix ? prefix.charCodeAt(0) : -1;
  for (const m of mods) {
    const { names, crcs, weak } = m.facts.imports;
    for (let k = 0; k < names.length; k++) {
      const impName = names[k];
      let name = impName;
      if (name.charCodeAt(0) === 0x2e) name = name.slice(1);
      if (name.charCodeAt(0) === prefixCode) name = name.slice(1);
      const sym = symbols.get(name);
      if (!sym) {
        if (opts.printUnknown && !weak[k]) messages.push(`depmod: WARNING: ${m.facts.absPath} needs unknown symbol ${impName}`);
        continue;
      }
      if (opts.checkSymvers && sym.crc !== crcs[k] && !weak[k] && opts.printUnknown) {
        messages.push(`depmod: WARNING: ${m.facts.absPath} disagrees about version of symbol ${impName}`);
      }
      if (sym.owner && !m.deps.includes(sym.owner)) {
        m.deps.push(sym.owner);
        sym.owner.users++;
        if (opts.verbose) shown.push(`${m.facts.absPath} needs "${sym.name}": ${sym.owner.facts.absPath}`);
      }
    }
  }
}

/**
 * Kahn's sort with a LIFO stack, as kmod; each module's deps then in sort
 * order. Returns, when modules are left in cycles, the users count kmod's
 * cycle report starts from (else null).
 */
function sortDependencies(mods: readonly Mod[]): number[] | null {
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
  if (sorted < mods.length) return users;
  for (const m of mods) if (m.deps.length > 1) m.deps.sort((a, b) => a.depSortIdx - b.depSortIdx);
  return null;
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

/** Steps of kmod's cycle walk kmodkit takes at most (a dense knot of cycles has exponentially many paths). */
const CYCLE_WALK_BUDGET = 200_000;

/**
 * kmod's cycle report (depmod_report_cycles), step for step: the modules
 * left with users become a circular list of roots; from each root in turn a
 * depth-first walk (last dependency first) that re-enters every module but
 * the root reports each path back to the root, and removes from the roots
 * the modules of that path and every module without dependencies. Removing
 * a module makes the one after it the list's head (kmod_list_remove_data),
 * which decides which root comes next. The count is of the modules on the
 * reported paths.
 *
 * Where kmod's walk never ends (from a root it reaches a cycle that does not
 * pass through the root, and walks it forever), kmodkit does not follow a
 * module that is already on the path; a walk that exceeds the step budget
 * stops the report, and the count then includes every module on a cycle.
 */
function cycleMessages(mods: readonly Mod[], users: readonly number[]): string[] {
  const out: string[] = [];
  const n = mods.length;
  // the roots: a circular doubly-linked list over module indexes
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  let head = -1;
  for (let i = 0; i < n; i++) {
    if (users[i] <= 0) continue;
    if (head < 0) { head = i; next[i] = prev[i] = i; continue; }
    const tail = prev[head];
    next[tail] = i; prev[i] = tail; next[i] = head; prev[head] = i;
  }
  const unlink = (i: number): number => {
    const after = next[i] === i ? -1 : next[i];
    if (after >= 0) { next[prev[i]] = next[i]; prev[next[i]] = prev[i]; }
    next[i] = prev[i] = -1;
    return after;
  };
  const removeData = (i: number): void => {
    if (next[i] >= 0) head = unlink(i);
  };
  const visited = new Uint8Array(n);
  const loopSet = new Set<number>();
  interface Vertex { readonly mod: Mod; readonly parent: Vertex | null }
  let steps = 0;
  while (head >= 0 && steps <= CYCLE_WALK_BUDGET) {
    const root = mods[head];
    head = unlink(head);
    const stack: Vertex[] = [{ mod: root, parent: null }];
    while (stack.length && ++steps <= CYCLE_WALK_BUDGET) {
      const v = stack.pop()!;
      const m = v.mod;
      if (visited[m.idx] && m === root) {
        const path: Mod[] = [];
        for (let p = v.parent; p; p = p.parent) { path.push(p.mod); loopSet.add(p.mod.idx); }
        let line = '';
        for (let i = path.length - 1; i >= 0; i--) { line += path[i].facts.name + ' -> '; removeData(path[i].idx); }
        out.push(`depmod: ERROR: Cycle detected: ${line}${m.facts.name}`);
        continue;
      }
      if (m !== root && onPath(v.parent, m)) continue; // kmod would walk this cycle forever
      visited[m.idx] = 1;
      if (m.deps.length === 0) { removeData(m.idx); continue; }
      for (const d of m.deps) stack.push({ mod: d, parent: v });
    }
  }
  if (steps > CYCLE_WALK_BUDGET) for (const i of modulesOnCycles(mods, users)) loopSet.add(i);
  out.push(`depmod: ERROR: Found ${loopSet.size} modules in dependency cycles!`);
  return out;
}

function onPath(v: { readonly mod: Mod; readonly parent: unknown } | null, m: Mod): boolean {
  for (let p = v as { readonly mod: Mod; readonly parent: unknown } | null; p; p = p.parent as typeof p) if (p.mod === m) return true;
  return false;
}

/** Indexes of the modules (among those with users left) that lie on a cycle: strongly connected components of two or more, or a self-dependency. */
function modulesOnCycles(mods: readonly Mod[], users: readonly number[]): number[] {
  // Tarjan's algorithm, iterative.
  const n = mods.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[] = [];
  let counter = 0;
  for (let s = 0; s < n; s++) {
    if (users[s] <= 0 || index[s] >= 0) continue;
    const work: [number, number][] = [[s, 0]];
    index[s] = low[s] = counter++; stack.push(s); onStack[s] = 1;
    while (work.length) {
      const top = work[work.length - 1];
      const [v, k] = top;
      const deps = mods[v].deps;
      if (k < deps.length) {
        top[1]++;
        const w = deps[k].idx;
        if (index[w] < 0) { index[w] = low[w] = counter++; stack.push(w); onStack[w] = 1; work.push([w, 0]); }
        else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length) { const u = work[work.length - 1][0]; low[u] = Math.min(low[u], low[v]); }
      if (low[v] !== index[v]) continue;
      const comp: number[] = [];
      let w: number;
      do { w = stack.pop()!; onStack[w] = 0; comp.push(w); } while (w !== v);
      if (comp.length > 1 || mods[v].deps.includes(mods[v])) out.push(...comp);
    }
  }
  return out;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const utf8 = new TextEncoder();

/** Text files carry the bytes kmod wrote: every string here holds one byte per char. */
function textFile(name: string, parts: string[]): DepmodFile {
  const s = parts.join('');
  if (ASCII_ONLY.test(s)) return { name, data: utf8.encode(s), binary: false };
  const data = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
  return { name, data, binary: false };
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
    indexInsert(idx, modnameFromPath(line), '', 0, kmod);
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
    const s = latin1String(data.subarray(start, p));
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
    indexInsert(idx, alias, modname, 0, kmod);
  }
  return indexWrite(idx, kmod);
}

const DEVNAME_MAJOR_MINOR = /^(char|block)-major-(\d+)-(\d+)/;

function devnameFile(mods: readonly Mod[], messages: string[]): string {
  let out = '';
  for (const m of mods) {
    let devname: string | null = null;
    let type = '';
    let major = 0, minor = 0;
    for (const value of m.alias) {
      let mm: RegExpExecArray | null;
      if (value.startsWith('devname:')) devname = value.slice(8);
      else if ((mm = DEVNAME_MAJOR_MINOR.exec(value))) { type = mm[1] === 'char' ? 'c' : 'b'; major = Number(mm[2]); minor = Number(mm[3]); }
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

/** kmod 34 stops at a key or value its index cannot hold (CRIT: message, exit 1). */
class IndexStop extends Error {}

/**
 * Build one .bin index with `fill` and write it; in kmod 34 a refused key
 * or value ends the run: the message goes to `messages` and IndexStop is
 * thrown.
 */
function binIndex(kmod: KmodCompat, messages: string[], fill: (idx: IndexNode) => void): Uint8Array {
  const idx = indexCreate();
  try {
    fill(idx);
    return indexWrite(idx, kmod);
  } catch (e) {
    if (!(e instanceof KmodkitError && e.code === 'EINDEX')) throw e;
    messages.push(`depmod: FATAL: ${e.message}`);
    throw new IndexStop();
  }
}

/**
 * Compute every depmod output file. Throws KmodkitError 'EDEPCYCLE' (with the
 * messages in `detail.messages`) when modules depend on each other in a cycle.
 */
export function depmod(facts: readonly DepmodModuleFacts[], opts: DepmodOptions = {}): DepmodResult {
  const messages: string[] = [];
  const kmod = opts.kmod ?? DEFAULT_KMOD_COMPAT;
  const mods = orderModules(facts, opts, kmod, messages);
  for (const m of mods) if (m.facts.error !== undefined) messages.push(`depmod: ERROR: failed to load symbols from ${m.facts.absPath}: ${m.facts.error}`);
  const symbols = symbolTable(mods, opts);
  const shown: string[] = [];
  resolveDependencies(mods, symbols, opts, messages, shown);
  const users = sortDependencies(mods);
  if (users) {
    messages.push(...cycleMessages(mods, users));
    throw new KmodkitError('EDEPCYCLE', messages[messages.length - 1].replace(/^depmod: ERROR: /, ''), { detail: { messages } });
  }
  const files: DepmodFile[] = [];
  const textOnly = opts.textOnly ?? false;
  const warnDups = opts.warnDups ?? false;
  const bin = (name: string, fill: (idx: IndexNode) => void): void => {
    if (!textOnly) files.push({ name, data: binIndex(kmod, messages, fill), binary: true });
  };
  try {
    const depLines: string[] = new Array(mods.length);
    const dep: string[] = [];
    for (const m of mods) {
      let line = `${m.facts.path}:`;
      if (m.deps.length) for (const d of allDependencies(m)) line += ` ${d.facts.path}`;
      depLines[m.idx] = line;
      dep.push(line, '\n');
    }
    files.push(textFile('modules.dep', dep));
    bin('modules.dep.bin', (idx) => {
      for (const m of mods) {
        const line = depLines[m.idx];
        if (indexInsert(idx, m.facts.name, line, m.idx, kmod) && warnDups) messages.push(`depmod: WARNING: duplicate module deps:\n${line}`);
      }
    });

    const alias = ['# Aliases extracted from modules themselves.\n'];
    for (const m of mods) for (const v of m.alias) alias.push('alias ', v, ' ', m.facts.name, '\n');
    files.push(textFile('modules.alias', alias));
    bin('modules.alias.bin', (idx) => {
      for (const m of mods) {
        for (const v of m.alias) {
          const norm = aliasNormalize(v);
          if (norm === null) { messages.push(`depmod: WARNING: Unmatched bracket in ${v}`); continue; }
          if (indexInsert(idx, norm, m.facts.name, m.idx, kmod) && warnDups) messages.push(`depmod: WARNING: duplicate module alias:\n${norm} ${m.facts.name}`);
        }
      }
    });

    const softdep = ['# Soft dependencies extracted from modules themselves.\n'];
    for (const m of mods) for (const v of m.softdep) softdep.push(`softdep ${m.facts.name} ${v}\n`);
    files.push(textFile('modules.softdep', softdep));

    if (kmod !== '30') {
      const weakdep = ['# Weak dependencies extracted from modules themselves.\n'];
      for (const m of mods) for (const v of m.weakdep) weakdep.push(`weakdep ${m.facts.name} ${v}\n`);
      files.push(textFile('modules.weakdep', weakdep));
    }

    const syms = ['# Aliases for symbols, used by symbol_request().\n'];
    const owned: Sym[] = [];
    for (const name of kmodHashOrder(symbols.keys(), 2048)) {
      const s = symbols.get(name)!;
      if (!s.owner) continue;
      owned.push(s);
      syms.push('alias symbol:', s.name, ' ', s.owner.facts.name, '\n');
    }
    files.push(textFile('modules.symbols', syms));
    bin('modules.symbols.bin', (idx) => {
      for (const s of owned) {
        if (indexInsert(idx, `symbol:${s.name}`, s.owner!.facts.name, s.owner!.idx, kmod) && warnDups) {
          messages.push(`depmod: WARNING: duplicate module syms:\nsymbol:${s.name} ${s.owner!.facts.name}`);
        }
      }
    });

    if (!textOnly) {
      files.push({ name: 'modules.builtin.bin', data: indexStopping(messages, () => builtinBin(opts.modulesBuiltin, opts, messages, kmod)), binary: true });
      files.push({ name: 'modules.builtin.alias.bin', data: indexStopping(messages, () => builtinAliasBin(opts.builtinModinfo, opts, messages, kmod)), binary: true });
    }
    files.push(textFile('modules.devname', [devnameFile(mods, messages)]));
  } catch (e) {
    if (!(e instanceof IndexStop)) throw e;
    return { files, failed: true, messages, shown };
  }
  return { files, messages, shown };
}

function indexStopping(messages: string[], build: () => Uint8Array): Uint8Array {
  try {
    return build();
  } catch (e) {
    if (!(e instanceof KmodkitError && e.code === 'EINDEX')) throw e;
    messages.push(`depmod: FATAL: ${e.message}`);
    throw new IndexStop();
  }
}
