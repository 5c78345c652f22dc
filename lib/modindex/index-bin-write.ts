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

/**
 * An index being built: its keys, each with its values (kmod's order: by
 * priority, a newer one before equal ones). Most keys have one value: it is
 * kept in two columns by the key's slot, and a key's list is made when it
 * gets a second.
 */
export interface IndexNode {
  /** Each key's slot. */
  readonly keys: Map<string, number>;
  /** By slot: the first value and its priority. */
  readonly value: string[];
  readonly priority: number[];
  /** By slot: every value, once the key has two or more. */
  readonly more: (IndexValue[] | undefined)[];
}

export function indexCreate(): IndexNode {
  return { keys: new Map(), value: [], priority: [], more: [] };
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
  const slot = root.keys.get(key);
  if (slot === undefined) {
    root.keys.set(key, root.value.length);
    root.value.push(value);
    root.priority.push(priority);
    root.more.push(undefined);
    return false;
  }
  const values = (root.more[slot] ??= [{ priority: root.priority[slot], value: root.value[slot] }]);
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

const encoder = new TextEncoder();

/** A byte string's chars [from, to) as bytes. */
function bytesOf(buf: Uint8Array, at: number, s: string, from: number, to: number): number {
  if (to - from >= 32 && from === 0 && to === s.length) {
    // a long value (a modules.dep line) at once: its UTF-8 is its bytes when every char is ASCII
    const r = encoder.encodeInto(s, buf.subarray(at, at + to));
    if (r.read === to && r.written === to) return at + to;
    // a char above 0x7f (kmod 30 lets it through) came out as UTF-8: written again char by char
  }
  for (let i = from; i < to; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/**
 * The trie over sorted keys `k` (values `v`), as flat arrays over its nodes
 * in pre-order (the order kmod 34 writes them). Node n stands for keys
 * k[lo[n]..] sharing their first depth[n] chars; its prefix is the next
 * plen[n] chars of k[lo[n]]; valuesAt[n] is the key whose values it holds
 * (-1: none); edge[n] the char its parent reaches it by; count[n] the nodes
 * of its subtree (its children: n+1, then each next one count[] further).
 * A trie over K keys has at most 2K nodes (each node but the root holds a
 * key or branches), so the arrays are allocated once, typed.
 */
interface Trie {
  readonly k: readonly string[];
  /** The index, and each sorted key's slot in it. */
  readonly root: IndexNode;
  readonly slot: Int32Array;
  /** Nodes made so far. */
  nodes: number;
  readonly lo: Int32Array;
  readonly depth: Int32Array;
  readonly plen: Int32Array;
  readonly valuesAt: Int32Array;
  readonly edge: Int32Array;
  readonly count: Int32Array;
  /**
   * Bytes of the node alone, its children, and the top byte of its reference
   * (the flags announcing its parts: kept apart from the offset so that no
   * value needs more than 31 bits, which V8 would box).
   */
  readonly own: Int32Array;
  readonly kids: Int32Array;
  readonly flags: Uint8Array;
}

function newTrie(k: readonly string[], root: IndexNode): Trie {
  const max = 2 * k.length + 1;
  return {
    k, root, slot: Int32Array.from(k, (key) => root.keys.get(key)!), nodes: 0,
    lo: new Int32Array(max), depth: new Int32Array(max), plen: new Int32Array(max), valuesAt: new Int32Array(max),
    edge: new Int32Array(max), count: new Int32Array(max), own: new Int32Array(max), kids: new Int32Array(max), flags: new Uint8Array(max),
  };
}

/** Build node n over k[lo..hi) at `depth` (the root has no prefix), then its children. */
function build(t: Trie, lo: number, hi: number, depth: number, edgeChar: number, kmod30: boolean): void {
  const k = t.k;
  const first = k[lo];
  let plen = 0;
  if (edgeChar >= 0) {
    // the prefix all these keys share from `depth` on: k[lo]'s and k[hi-1]'s (sorted)
    const b = k[hi - 1];
    const n = Math.min(first.length, b.length);
    while (depth + plen < n && first.charCodeAt(depth + plen) === b.charCodeAt(depth + plen)) plen++;
  }
  const end = depth + plen;
  const n = t.nodes++;
  let from = lo;
  let valuesAt = -1;
  if (first.length === end) { valuesAt = lo; from++; }
  t.lo[n] = lo; t.depth[n] = depth; t.plen[n] = plen; t.valuesAt[n] = valuesAt; t.edge[n] = edgeChar;
  let kids = 0, firstChar = -1, lastChar = -1;
  while (from < hi) {
    const ch = k[from].charCodeAt(end);
    let to = from + 1;
    if (from + 1 < hi && k[hi - 1].charCodeAt(end) === ch) to = hi; // one child: the common case deep in the trie
    else while (to < hi && k[to].charCodeAt(end) === ch) to++;
    if (ch >= CHILDMAX && kmod30) throw highByteBranch(k[from], ch);
    if (firstChar < 0) firstChar = ch;
    lastChar = ch;
    kids++;
    build(t, from, to, end + 1, ch, kmod30);
    from = to;
  }
  let own = 0;
  if (plen) own += plen + 1;
  if (kids) own += 2 + 4 * (lastChar - firstChar + 1);
  if (valuesAt >= 0) {
    own += 4;
    const slot = t.slot[valuesAt];
    const values = t.root.more[slot];
    if (!values) own += 5 + t.root.value[slot].length;
    else for (let i = 0; i < values.length; i++) own += 5 + values[i].value.length;
  }
  t.count[n] = t.nodes - n;
  t.own[n] = own;
  t.kids[n] = kids;
  t.flags[n] = ((kids ? INDEX_NODE_CHILDS : 0) | (plen ? INDEX_NODE_PREFIX : 0) | (valuesAt >= 0 ? INDEX_NODE_VALUES : 0)) >>> 24;
}

/** The output: its size is known before the first byte, so one buffer, no growth. */
interface Out { readonly buf: Uint8Array; len: number }

function u32(o: Out, v: number): void {
  const { buf, len } = o;
  buf[len] = v >>> 24; buf[len + 1] = (v >>> 16) & 0xff; buf[len + 2] = (v >>> 8) & 0xff; buf[len + 3] = v & 0xff;
  o.len = len + 4;
}

/**
 * Node n's own bytes: prefix, child table (first and last char, one
 * reference per char between them, 0 where there is no child), values;
 * a child's reference is its flags (t.flags) over its offset (`offsets`).
 */
function writeBody(o: Out, t: Trie, n: number, offsets: Int32Array): void {
  const buf = o.buf;
  let len = o.len;
  const plen = t.plen[n];
  if (plen) {
    const d = t.depth[n];
    len = bytesOf(buf, len, t.k[t.lo[n]], d, d + plen);
    buf[len++] = 0;
  }
  const kids = t.kids[n];
  if (kids) {
    const count = t.count, edge = t.edge;
    let child = n + 1;
    let last = child;
    for (let i = 1; i < kids; i++) last += count[last];
    const first = edge[child];
    const lastChar = edge[last];
    buf[len++] = first;
    buf[len++] = lastChar;
    for (let ch = first; ch <= lastChar; ch++) {
      if (edge[child] === ch) {
        const r = offsets[child];
        buf[len] = t.flags[child] | (r >>> 24); buf[len + 1] = (r >>> 16) & 0xff; buf[len + 2] = (r >>> 8) & 0xff; buf[len + 3] = r & 0xff;
        child += count[child];
      } else {
        buf[len] = 0; buf[len + 1] = 0; buf[len + 2] = 0; buf[len + 3] = 0;
      }
      len += 4;
    }
  }
  o.len = len;
  const at = t.valuesAt[n];
  if (at >= 0) {
    const slot = t.slot[at];
    const values = t.root.more[slot];
    u32(o, values ? values.length : 1);
    if (!values) writeValue(o, t.root.priority[slot], t.root.value[slot]);
    else for (let i = 0; i < values.length; i++) writeValue(o, values[i].priority, values[i].value);
  }
}

/** One value of a node: its priority, its bytes, NUL. */
function writeValue(o: Out, priority: number, value: string): void {
  u32(o, priority);
  o.len = bytesOf(o.buf, o.len, value, 0, value.length);
  o.buf[o.len++] = 0;
}

/** kmod 30: children first, each node's reference known once its children are written. */
function writePostOrder(o: Out, t: Trie, n: number, offsets: Int32Array): void {
  for (let i = 0, child = n + 1; i < t.kids[n]; i++, child += t.count[child]) writePostOrder(o, t, child, offsets);
  offsets[n] = o.len;
  writeBody(o, t, n, offsets);
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
  const t = newTrie(k, root);
  build(t, 0, k.length, 0, -1, kmod === '30');
  const nodes = t.nodes;
  let size = 0;
  for (let n = 0; n < nodes; n++) size += t.own[n];
  const o: Out = { buf: new Uint8Array(12 + size), len: 0 };
  u32(o, INDEX_MAGIC);
  u32(o, INDEX_VERSION);
  const offsets = new Int32Array(nodes);
  if (kmod === '30') {
    u32(o, 0);
    writePostOrder(o, t, 0, offsets);
    new DataView(o.buf.buffer).setUint32(8, ((t.flags[0] << 24) | offsets[0]) >>> 0, false);
    return o.buf;
  }
  // kmod 34: pre-order, so a node's offset is the sum of the sizes before it
  let at = 12;
  for (let n = 0; n < nodes; n++) { offsets[n] = at; at += t.own[n]; }
  u32(o, ((t.flags[0] << 24) | offsets[0]) >>> 0);
  for (let n = 0; n < nodes; n++) writeBody(o, t, n, offsets);
  return o.buf;
}
