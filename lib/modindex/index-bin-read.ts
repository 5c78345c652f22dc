/**
 * The reader of kmod's binary index files (modules.*.bin, format 2.1), over
 * bytes: exact lookup (modules.dep.bin, modules.builtin.bin), wildcard lookup
 * where stored keys are fnmatch patterns (modules.alias.bin,
 * modules.symbols.bin), and a dump of every key → values, as libkmod reads them.
 */
import { KmodkitError } from '../errors.js';
import { fnmatch } from './names.js';
import { INDEX_MAGIC, INDEX_NODE_CHILDS, INDEX_NODE_MASK, INDEX_NODE_PREFIX, INDEX_NODE_VALUES, INDEX_VERSION } from './index-bin-write.js';

export interface IndexBinValue { readonly priority: number; readonly value: string }

interface Node {
  prefix: string;
  first: number;
  last: number;
  children: number[];
  values: IndexBinValue[];
}

function bad(what: string): KmodkitError {
  return new KmodkitError('EINDEX', `malformed index: ${what}`);
}

export interface IndexBin {
  readonly data: Uint8Array;
  readonly root: number;
}

/** Check the header; throws EINDEX for a file that is not a version-2 index. */
export function openIndexBin(data: Uint8Array): IndexBin {
  if (data.length < 12) throw bad('shorter than its header');
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint32(0) !== INDEX_MAGIC) throw bad('bad magic');
  if (v.getUint32(4) >>> 16 !== INDEX_VERSION >>> 16) throw bad(`unsupported version 0x${v.getUint32(4).toString(16)}`);
  return { data, root: v.getUint32(8) };
}

/** Bytes as Latin-1 (one character per byte), in chunks: a spread of a long string's bytes overflows the call stack. */
function latin1(b: Uint8Array): string {
  if (b.length <= 4096) return String.fromCharCode(...b);
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 4096) parts.push(String.fromCharCode(...b.subarray(i, i + 4096)));
  return parts.join('');
}

/**
 * One node: its prefix, children and (with `withValues`) its values. A
 * lookup reads the values of the node it ends at only, so a hostile index
 * whose every node on the path carries millions of values costs one read of
 * them, not one per character of the key.
 */
function readNode(ix: IndexBin, ref: number, withValues = true): Node {
  const d = ix.data;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let p = ref & INDEX_NODE_MASK;
  const str = (): string => {
    const start = p;
    while (p < d.length && d[p] !== 0) p++;
    if (p >= d.length) throw bad('unterminated string');
    return latin1(d.subarray(start, p++));
  };
  const u32 = (): number => {
    if (p + 4 > d.length) throw bad('truncated node');
    const x = v.getUint32(p);
    p += 4;
    return x;
  };
  const node: Node = { prefix: '', first: 128, last: 0, children: [], values: [] };
  if (ref & INDEX_NODE_PREFIX) node.prefix = str();
  if (ref & INDEX_NODE_CHILDS) {
    if (p + 2 > d.length) throw bad('truncated node');
    node.first = d[p++];
    node.last = d[p++];
    if (node.last < node.first) throw bad('child range reversed');
    for (let c = node.first; c <= node.last; c++) node.children.push(u32());
  }
  if (withValues && ref & INDEX_NODE_VALUES) {
    const n = u32();
    if (n > d.length) throw bad('value count out of range');
    for (let i = 0; i < n; i++) {
      const priority = u32();
      node.values.push({ priority, value: str() });
    }
  }
  return node;
}

function child(node: Node, ch: number): number {
  return ch >= node.first && ch <= node.last ? node.children[ch - node.first] : 0;
}

/** Values stored under exactly `key` (priority order), [] when absent. */
export function indexBinLookup(ix: IndexBin, key: string): IndexBinValue[] {
  let ref = ix.root;
  let i = 0;
  for (let depth = 0; ref && depth <= key.length + 1; depth++) {
    const node = readNode(ix, ref, false);
    if (!key.startsWith(node.prefix, i)) return [];
    i += node.prefix.length;
    if (i === key.length) return readNode(ix, ref).values;
    ref = child(node, key.charCodeAt(i++));
  }
  return [];
}

/** Every key with its values, keys in byte order (what `modprobe -c` dumps). */
export function indexBinEntries(ix: IndexBin): { key: string; values: IndexBinValue[] }[] {
  const out: { key: string; values: IndexBinValue[] }[] = [];
  const seen = new Set<number>();
  const walk = (ref: number, base: string): void => {
    if (seen.has(ref & INDEX_NODE_MASK)) throw bad('node reached twice');
    seen.add(ref & INDEX_NODE_MASK);
    const node = readNode(ix, ref);
    const key = base + node.prefix;
    if (node.values.length) out.push({ key, values: node.values });
    node.children.forEach((r, j) => { if (r) walk(r, key + String.fromCharCode(node.first + j)); });
  };
  if (ix.data.length > 12 || ix.root & ~INDEX_NODE_MASK) walk(ix.root, '');
  return out;
}

/**
 * kmod's index_searchwild: the values of every stored key, read as an
 * fnmatch pattern, that matches `key` (modules.alias.bin, modules.symbols.bin,
 * modules.builtin.alias.bin), in libkmod's order. It descends the trie along
 * `key`; at each node it first searches the '*', '?' and '[' children (every
 * key below them, children before their parent, in character order), then
 * the node's own values when `key` ends there. Each value found is inserted
 * before the first one of equal or higher priority, so among equal priorities
 * the one found last comes first. Duplicates are kept: one module reached
 * through two patterns is listed twice, as kmod lists it.
 */
export function indexBinSearchWild(ix: IndexBin, key: string): IndexBinValue[] {
  const out: IndexBinValue[] = [];
  const add = (values: readonly IndexBinValue[]): void => {
    for (const v of values) {
      let i = 0;
      while (i < out.length && out[i].priority < v.priority) i++;
      out.splice(i, 0, v);
    }
  };
  // A node may be reached more than once (a key holding '*' is followed both as a wildcard and
  // literally, as kmod does); a malformed index with a reference loop is stopped by a budget that
  // no well-formed index reaches: every node once per character of `key`, and then some.
  let budget = (key.length + 2) * (ix.data.length + 1);
  const visit = (ref: number): Node => {
    if (--budget < 0) throw bad('reference loop');
    return readNode(ix, ref);
  };
  // Level 3: every key below a wildcard, matched against what is left of `key`.
  const all = (node: Node, from: number, pattern: string, subkey: string): void => {
    const p = pattern + node.prefix.slice(from);
    if (p.length > 4096) throw bad('key longer than PATH_MAX (a reference loop)');
    node.children.forEach((r, j) => { if (r) all(visit(r), 0, p + String.fromCharCode(node.first + j), subkey); });
    if (node.values.length && fnmatch(p, subkey)) add(node.values);
  };
  // Level 2: follow `key` literally until a wildcard.
  let node: Node | null = ix.data.length > 12 ? visit(ix.root) : null;
  let i = 0;
  while (node) {
    for (let j = 0; j < node.prefix.length; j++) {
      const ch = node.prefix[j];
      if (ch === '*' || ch === '?' || ch === '[') {
        all(node, j, '', key.slice(i + j));
        return out;
      }
      if (ch !== key[i + j]) return out;
    }
    i += node.prefix.length;
    for (const w of ['*', '?', '[']) {
      const r = child(node, w.charCodeAt(0));
      if (r) all(visit(r), 0, w, key.slice(i));
    }
    if (i >= key.length) {
      add(node.values);
      return out;
    }
    const r = child(node, key.charCodeAt(i++));
    node = r ? visit(r) : null;
  }
  return out;
}

/** Values of every stored pattern that matches `name` (modules.alias.bin, modules.symbols.bin), in dump order. */
export function indexBinMatch(ix: IndexBin, name: string): { key: string; values: IndexBinValue[] }[] {
  return indexBinEntries(ix).filter((e) => fnmatch(e.key, name));
}
