/**
 * The writer of kmod's binary index files (modules.*.bin, format 2.1): a
 * radix trie, keys and values 7-bit ASCII, with big-endian node references.
 * kmod 34's depmod writes each node before its children (pre-order, the root
 * right after the 12-byte header); kmod 30's writes children first
 * (post-order, the root last). Readers follow the references, so both read
 * either layout; the bytes differ.
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

export interface IndexNode {
  prefix: string;
  /** Children by character code; sparse. */
  children: (IndexNode | undefined)[];
  first: number;
  last: number;
  values: IndexValue[];
}

export function indexCreate(): IndexNode {
  return { prefix: '', children: [], first: CHILDMAX, last: 0, values: [] };
}

function checkAscii(s: string): void {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= CHILDMAX) {
      throw new KmodkitError('EINDEX', `Module index: bad character '${s[i]}'=0x${s.charCodeAt(i).toString(16)} - only 7-bit ASCII is supported:\n${s}`);
    }
  }
}

/** Values stay ordered by priority; a new one goes before equal priorities. True when the value string was already there. */
function addValue(node: IndexNode, value: string, priority: number): boolean {
  const duplicate = node.values.some((v) => v.value === value);
  let i = 0;
  while (i < node.values.length && node.values[i].priority < priority) i++;
  node.values.splice(i, 0, { priority, value });
  return duplicate;
}

function setChild(node: IndexNode, ch: number, child: IndexNode): void {
  node.children[ch] = child;
  if (ch < node.first) node.first = ch;
  if (ch > node.last) node.last = ch;
}

/** Insert key → value at priority; returns true when the same value already existed under the key (depmod -w). */
export function indexInsert(root: IndexNode, key: string, value: string, priority: number): boolean {
  checkAscii(key);
  checkAscii(value);
  let node = root;
  let i = 0;
  for (;;) {
    let j = 0;
    for (; j < node.prefix.length; j++) {
      const ch = node.prefix.charCodeAt(j);
      if (i + j >= key.length || ch !== key.charCodeAt(i + j)) {
        // Split: the old contents move into a child under prefix[j].
        const moved: IndexNode = { prefix: node.prefix.slice(j + 1), children: node.children, first: node.first, last: node.last, values: node.values };
        node.prefix = node.prefix.slice(0, j);
        node.children = [];
        node.first = CHILDMAX;
        node.last = 0;
        node.values = [];
        setChild(node, ch, moved);
        break;
      }
    }
    i += j;
    if (i >= key.length) return addValue(node, value, priority);
    const ch = key.charCodeAt(i);
    const next = node.children[ch];
    if (!next) {
      const child = indexCreate();
      child.prefix = key.slice(i + 1);
      setChild(node, ch, child);
      addValue(child, value, priority);
      return false;
    }
    node = next;
    i++;
  }
}

/** A growable big-endian output buffer. */
interface Out { buf: Uint8Array; len: number }

function ensure(o: Out, n: number): void {
  if (o.len + n <= o.buf.length) return;
  let size = o.buf.length * 2;
  while (size < o.len + n) size *= 2;
  const b = new Uint8Array(size);
  b.set(o.buf.subarray(0, o.len));
  o.buf = b;
}

function u32(o: Out, v: number): void {
  ensure(o, 4);
  const { buf, len } = o;
  buf[len] = v >>> 24; buf[len + 1] = (v >>> 16) & 0xff; buf[len + 2] = (v >>> 8) & 0xff; buf[len + 3] = v & 0xff;
  o.len += 4;
}

function str(o: Out, s: string): void {
  ensure(o, s.length + 1);
  for (let i = 0; i < s.length; i++) o.buf[o.len++] = s.charCodeAt(i);
  o.buf[o.len++] = 0;
}

function hasChildren(node: IndexNode): boolean {
  return node.first < CHILDMAX;
}

/** kmod's index_get_mask: which parts a reference to this node announces. */
function nodeMask(node: IndexNode): number {
  return ((hasChildren(node) ? INDEX_NODE_CHILDS : 0) | (node.prefix.length ? INDEX_NODE_PREFIX : 0) | (node.values.length ? INDEX_NODE_VALUES : 0)) >>> 0;
}

/** The node's own bytes (prefix, child table, values) once child offsets are known. */
function writeBody(o: Out, node: IndexNode, childOffsets: readonly number[] | null): void {
  if (node.prefix.length) str(o, node.prefix);
  if (childOffsets) {
    ensure(o, 2);
    o.buf[o.len++] = node.first;
    o.buf[o.len++] = node.last;
    for (const off of childOffsets) u32(o, off);
  }
  if (node.values.length) {
    u32(o, node.values.length);
    for (const v of node.values) { u32(o, v.priority); str(o, v.value); }
  }
}

/** kmod 30: children first, each node's reference known once its children are written. */
function writePostOrder(o: Out, node: IndexNode): number {
  let offs: number[] | null = null;
  if (hasChildren(node)) {
    offs = [];
    for (let c = node.first; c <= node.last; c++) {
      const child = node.children[c];
      offs.push(child ? writePostOrder(o, child) : 0);
    }
  }
  const ref = (o.len | nodeMask(node)) >>> 0;
  writeBody(o, node, offs);
  return ref;
}

/** kmod 34's index_calculate_size: each node's own size and its subtree's, keyed by node. */
function subtreeSizes(node: IndexNode, sizes: Map<IndexNode, { size: number; total: number }>): number {
  let size = 0;
  let total = 0;
  if (hasChildren(node)) {
    size += 2 + 4 * (node.last - node.first + 1);
    for (let c = node.first; c <= node.last; c++) {
      const child = node.children[c];
      if (child) total += subtreeSizes(child, sizes);
    }
  }
  if (node.prefix.length) size += node.prefix.length + 1;
  if (node.values.length) {
    size += 4;
    for (const v of node.values) size += 4 + v.value.length + 1;
  }
  total += size;
  sizes.set(node, { size, total });
  return total;
}

/** kmod 34: the node at `offset`, then its children in character order. */
function writePreOrder(o: Out, node: IndexNode, sizes: Map<IndexNode, { size: number; total: number }>): void {
  const own = sizes.get(node)!;
  let offs: number[] | null = null;
  if (hasChildren(node)) {
    offs = [];
    let next = o.len + own.size;
    for (let c = node.first; c <= node.last; c++) {
      const child = node.children[c];
      if (!child) { offs.push(0); continue; }
      offs.push((next | nodeMask(child)) >>> 0);
      next += sizes.get(child)!.total;
    }
  }
  writeBody(o, node, offs);
  if (!hasChildren(node)) return;
  for (let c = node.first; c <= node.last; c++) {
    const child = node.children[c];
    if (child) writePreOrder(o, child, sizes);
  }
}

/** Serialise the trie exactly as the chosen kmod release's depmod does (kmod 34 by default). */
export function indexWrite(root: IndexNode, kmod: KmodCompat = DEFAULT_KMOD_COMPAT): Uint8Array {
  const o: Out = { buf: new Uint8Array(1 << 16), len: 0 };
  u32(o, INDEX_MAGIC);
  u32(o, INDEX_VERSION);
  if (kmod === '30') {
    u32(o, 0);
    const rootRef = writePostOrder(o, root);
    const out = o.buf.slice(0, o.len);
    new DataView(out.buffer).setUint32(8, rootRef, false);
    return out;
  }
  const sizes = new Map<IndexNode, { size: number; total: number }>();
  subtreeSizes(root, sizes);
  u32(o, (12 | nodeMask(root)) >>> 0);
  writePreOrder(o, root, sizes);
  return o.buf.slice(0, o.len);
}
