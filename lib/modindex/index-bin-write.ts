/**
 * The writer of kmod's binary index files (modules.*.bin, format 2.1): a
 * radix trie, keys and values 7-bit ASCII, with big-endian node references.
 * kmod 34's depmod writes each node before its children (pre-order, the root
 * right after the 12-byte header); kmod 30's writes children first
 * (post-order, the root last). Readers follow the references, so both read
 * either layout; the bytes differ.
 *
 * kmod builds the trie node by node as keys arrive; the trie it ends with
 * depends only on the set of keys: the root has no prefix, every other node
 * holds the longest prefix its keys share, and has values or at least two
 * children. So the keys are collected (each with its values, ordered as kmod
 * orders them) and the trie is written straight from the sorted keys, with
 * no node objects.
 */
import { KmodkitError } from '../errors.js';
import { DEFAULT_KMOD_COMPAT, type KmodCompat } from '../kmod-compat.js';

export const INDEX_MAGIC = 0xb007f457;
export const INDEX_VERSION = 0x00020001;
export const INDEX_NODE_PREFIX = 0x80000000;
export const INDEX_NODE_VALUES = 0x40000000;
export const INDEX_NODE_CHILDS = 0x20000000;
export const INDEX_NODE_MASK = 0x0fffffff;
const CHILDMAX = 128;

interface IndexValue { readonly priority: number; readonly value: string }

/** An index being built: its keys, each with its values (kmod's order: by priority, a newer one before equal ones). */
export interface IndexNode {
  readonly keys: Map<string, IndexValue[]>;
}

export function indexCreate(): IndexNode {
  return { keys: new Map() };
}

const NOT_ASCII = /[^\x00-\x7f]/;

/** kmod 34's index__checkstring: a byte above 0x7f anywhere (strings are byte strings, one char per byte). */
function checkAscii(s: string): void {
  const m = NOT_ASCII.exec(s);
  if (m) {
    throw new KmodkitError('EINDEX', `Module index: bad character '${m[0]}'=0x${m[0].charCodeAt(0).toString(16)} - only 7-bit ASCII is supported:\n${s}`);
  }
}

/**
 * kmod 30 reads the bytes as (signed) chars: its check lets a byte above
 * 0x7f through, and such a byte inside a node's prefix is written as it is.
 * A node that would branch on one, kmod 30 files outside its child table
 * (memory it does not own), so that is refused (when the index is written).
 */
function highByteBranch(key: string, ch: number): KmodkitError {
  return new KmodkitError('EINDEX', `Module index: bad character '${String.fromCharCode(ch)}'=0x${ch.toString(16)} - kmod 30 cannot branch on a byte above 0x7f:\n${key}`);
}

/**
 * Insert key → value at priority; returns true when the same value already
 * existed under the key (depmod -w). Keys and values are byte strings; a
 * byte above 0x7f is refused ('EINDEX', kmod 34's message) unless `kmod` is
 * '30' (see highByteBranch).
 */
export function indexInsert(root: IndexNode, key: string, value: string, priority: number, kmod: KmodCompat = DEFAULT_KMOD_COMPAT): boolean {
  if (kmod !== '30') {
    checkAscii(key);
    checkAscii(value);
  }
  const values = root.keys.get(key);
  if (!values) {
    root.keys.set(key, [{ priority, value }]);
    return false;
  }
  let duplicate = false;
  let at = values.length;
  for (let i = 0; i < values.length; i++) {
    if (values[i].value === value) duplicate = true;
    if (at === values.length && values[i].priority >= priority) at = i;
  }
  if (at === values.length) values.push({ priority, value });
  else values.splice(at, 0, { priority, value });
  return duplicate;
}

/**
 * The trie over sorted keys `k` (values `v`): visit(lo, hi, depth) stands for
 * the node whose keys are k[lo..hi), all alike in their first `depth` chars.
 */
interface Trie {
  readonly k: readonly string[];
  readonly v: readonly IndexValue[][];
  readonly kmod30: boolean;
}

/** Length of the prefix k[lo] and k[hi-1] share from `depth` on (so do all between them). */
function sharedFrom(k: readonly string[], lo: number, hi: number, depth: number): number {
  const a = k[lo], b = k[hi - 1];
  const n = Math.min(a.length, b.length);
  let i = depth;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i - depth;
}

/** The end of the run of keys from `lo` (before `hi`) with char `ch` at `pos`. */
function runEnd(k: readonly string[], lo: number, hi: number, pos: number, ch: number): number {
  let end = lo + 1;
  while (end < hi && k[end].charCodeAt(pos) === ch) end++;
  return end;
}

/** One node, as its parts: [prefix end, values key index or -1, children as [char, lo, hi] triples]. */
interface NodeParts {
  readonly prefixLength: number;
  readonly valuesAt: number;
  readonly children: number[];
}

function nodeParts(t: Trie, lo: number, hi: number, depth: number, root: boolean): NodeParts {
  const k = t.k;
  const prefixLength = root ? 0 : sharedFrom(k, lo, hi, depth);
  const end = depth + prefixLength;
  let valuesAt = -1;
  let from = lo;
  if (k[lo].length === end) { valuesAt = lo; from++; }
  const children: number[] = [];
  while (from < hi) {
    const ch = k[from].charCodeAt(end);
    const to = runEnd(k, from, hi, end, ch);
    if (ch >= CHILDMAX && t.kmod30) throw highByteBranch(k[from], ch);
    children.push(ch, from, to);
    from = to;
  }
  return { prefixLength, valuesAt, children };
}

function valuesSize(values: readonly IndexValue[]): number {
  let size = 4;
  for (let i = 0; i < values.length; i++) size += 5 + values[i].value.length;
  return size;
}

function ownSize(t: Trie, p: NodeParts): number {
  let size = 0;
  if (p.prefixLength) size += p.prefixLength + 1;
  const c = p.children;
  if (c.length) size += 2 + 4 * (c[c.length - 3] - c[0] + 1);
  if (p.valuesAt >= 0) size += valuesSize(t.v[p.valuesAt]);
  return size;
}

function maskOf(p: NodeParts): number {
  return ((p.children.length ? INDEX_NODE_CHILDS : 0) | (p.prefixLength ? INDEX_NODE_PREFIX : 0) | (p.valuesAt >= 0 ? INDEX_NODE_VALUES : 0)) >>> 0;
}

/** Per node in pre-order (what kmod 34's offsets are made of): subtree size in bytes, subtree node count, reference mask. */
interface Measured { readonly totals: number[]; readonly counts: number[]; readonly masks: number[] }

function measure(t: Trie, lo: number, hi: number, depth: number, root: boolean, m: Measured): number {
  const p = nodeParts(t, lo, hi, depth, root);
  const at = m.totals.length;
  m.totals.push(0); m.counts.push(0); m.masks.push(maskOf(p));
  let total = ownSize(t, p);
  const c = p.children;
  const end = depth + p.prefixLength;
  for (let i = 0; i < c.length; i += 3) total += measure(t, c[i + 1], c[i + 2], end + 1, false, m);
  m.totals[at] = total;
  m.counts[at] = m.totals.length - at;
  return total;
}

/** The output: its size is known before the first byte (measure), so one buffer, no growth. */
interface Out { readonly buf: Uint8Array; len: number }

function u32(o: Out, v: number): void {
  const { buf, len } = o;
  buf[len] = v >>> 24; buf[len + 1] = (v >>> 16) & 0xff; buf[len + 2] = (v >>> 8) & 0xff; buf[len + 3] = v & 0xff;
  o.len = len + 4;
}

/** s[from..to) and a NUL. */
function str(o: Out, s: string, from = 0, to = s.length): void {
  const buf = o.buf;
  let len = o.len;
  for (let i = from; i < to; i++) buf[len++] = s.charCodeAt(i);
  buf[len++] = 0;
  o.len = len;
}

/** The node's own bytes: prefix, child table (one reference per char from the first child's to the last's, 0 where none), values. */
function writeBody(o: Out, t: Trie, p: NodeParts, lo: number, depth: number, refs: readonly number[]): void {
  if (p.prefixLength) str(o, t.k[lo], depth, depth + p.prefixLength);
  const c = p.children;
  if (c.length) {
    const first = c[0], last = c[c.length - 3];
    o.buf[o.len++] = first;
    o.buf[o.len++] = last;
    let i = 0;
    for (let ch = first; ch <= last; ch++) {
      if (c[3 * i] === ch) u32(o, refs[i++]);
      else u32(o, 0);
    }
  }
  if (p.valuesAt >= 0) {
    const values = t.v[p.valuesAt];
    u32(o, values.length);
    for (let i = 0; i < values.length; i++) { u32(o, values[i].priority); str(o, values[i].value); }
  }
}

/** kmod 34: the node (pre-order number `at`), then its children in char order, each at the offset the sizes before it give. */
function writePreOrder(o: Out, t: Trie, lo: number, hi: number, depth: number, root: boolean, m: Measured, at: number): void {
  const p = nodeParts(t, lo, hi, depth, root);
  const c = p.children;
  const end = depth + p.prefixLength;
  const refs: number[] = [];
  let next = o.len + ownSize(t, p);
  for (let i = 0, child = at + 1; i < c.length; i += 3) {
    refs.push((next | m.masks[child]) >>> 0);
    next += m.totals[child];
    child += m.counts[child];
  }
  writeBody(o, t, p, lo, depth, refs);
  for (let i = 0, child = at + 1; i < c.length; i += 3) {
    writePreOrder(o, t, c[i + 1], c[i + 2], end + 1, false, m, child);
    child += m.counts[child];
  }
}

/** kmod 30: children first, each node's reference known once its children are written. */
function writePostOrder(o: Out, t: Trie, lo: number, hi: number, depth: number, root: boolean): number {
  const p = nodeParts(t, lo, hi, depth, root);
  const c = p.children;
  const end = depth + p.prefixLength;
  const refs: number[] = [];
  for (let i = 0; i < c.length; i += 3) refs.push(writePostOrder(o, t, c[i + 1], c[i + 2], end + 1, false));
  const ref = (o.len | maskOf(p)) >>> 0;
  writeBody(o, t, p, lo, depth, refs);
  return ref;
}

/** Serialise the trie exactly as the chosen kmod release's depmod does (kmod 34 by default). */
export function indexWrite(root: IndexNode, kmod: KmodCompat = DEFAULT_KMOD_COMPAT): Uint8Array {
  const k = [...root.keys.keys()].sort(); // byte strings: the default order is strcmp's
  if (k.length === 0) {
    // the root alone, with nothing: its reference is its offset (12) and no byte of it is written
    const o: Out = { buf: new Uint8Array(12), len: 0 };
    u32(o, INDEX_MAGIC);
    u32(o, INDEX_VERSION);
    u32(o, 12);
    return o.buf;
  }
  const t: Trie = { k, v: k.map((key) => root.keys.get(key)!), kmod30: kmod === '30' };
  const m: Measured = { totals: [], counts: [], masks: [] };
  const size = measure(t, 0, k.length, 0, true, m);
  const o: Out = { buf: new Uint8Array(12 + size), len: 0 };
  u32(o, INDEX_MAGIC);
  u32(o, INDEX_VERSION);
  if (kmod === '30') {
    u32(o, 0);
    const rootRef = writePostOrder(o, t, 0, k.length, 0, true);
    new DataView(o.buf.buffer).setUint32(8, rootRef, false);
    return o.buf;
  }
  u32(o, (12 | m.masks[0]) >>> 0);
  writePreOrder(o, t, 0, k.length, 0, true, m, 0);
  return o.buf;
}
