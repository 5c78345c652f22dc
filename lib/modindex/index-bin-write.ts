/**
 * The writer of kmod's binary index files (modules.*.bin, format 2.1): a
 * radix trie, keys and values 7-bit ASCII, written children first
 * (post-order) with big-endian node references.
 */
import { KmodkitError } from '../errors.js';

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

/** Serialise the trie exactly as kmod's depmod does. */
export function indexWrite(root: IndexNode): Uint8Array {
  let buf = new Uint8Array(1 << 16);
  let len = 0;
  const ensure = (n: number): void => {
    if (len + n <= buf.length) return;
    let size = buf.length * 2;
    while (size < len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(buf.subarray(0, len));
    buf = b;
  };
  const u32 = (v: number): void => {
    ensure(4);
    buf[len] = v >>> 24; buf[len + 1] = (v >>> 16) & 0xff; buf[len + 2] = (v >>> 8) & 0xff; buf[len + 3] = v & 0xff;
    len += 4;
  };
  const str = (s: string): void => {
    ensure(s.length + 1);
    for (let i = 0; i < s.length; i++) buf[len++] = s.charCodeAt(i);
    buf[len++] = 0;
  };
  const writeNode = (node: IndexNode): number => {
    let offs: number[] | null = null;
    if (node.first < CHILDMAX) {
      offs = [];
      for (let c = node.first; c <= node.last; c++) {
        const child = node.children[c];
        offs.push(child ? writeNode(child) : 0);
      }
    }
    let ref = len;
    if (node.prefix.length) { str(node.prefix); ref |= INDEX_NODE_PREFIX; }
    if (offs) {
      ensure(2);
      buf[len++] = node.first;
      buf[len++] = node.last;
      for (const o of offs) u32(o);
      ref |= INDEX_NODE_CHILDS;
    }
    if (node.values.length) {
      u32(node.values.length);
      for (const v of node.values) { u32(v.priority); str(v.value); }
      ref |= INDEX_NODE_VALUES;
    }
    return ref >>> 0;
  };
  u32(INDEX_MAGIC);
  u32(INDEX_VERSION);
  u32(0);
  const rootRef = writeNode(root);
  const out = buf.slice(0, len);
  new DataView(out.buffer).setUint32(8, rootRef, false);
  return out;
}
