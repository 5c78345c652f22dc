import test from 'ava';
import { indexBinEntries, indexBinLookup, indexBinMatch, openIndexBin } from '../../../lib/modindex/index-bin-read.js';
import { INDEX_MAGIC, indexCreate, indexInsert, indexWrite } from '../../../lib/modindex/index-bin-write.js';
import { aliasNormalize, MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../../../lib/modindex/names.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { parseAliasFile } from '../../../lib/modindex/index-files.js';

function build(rows: [string, string, number][]): Uint8Array {
  const root = indexCreate();
  for (const [k, v, p] of rows) indexInsert(root, k, v, p);
  return indexWrite(root);
}

test('kmod .bin index: what is written reads back, keys in order, values by priority', (t) => {
  const bin = build([
    ['pci:v00008086d*', 'e1000e', 0],
    ['pci:v00008086d000010D3*', 'e1000e', 1],
    ['snd_hda_intel', 'kernel/sound/pci/hda/snd-hda-intel.ko: kernel/sound/core/snd.ko', 0],
    ['usb:v*p*d*', 'usbcore', 2],
    ['usb:v*p*d*', 'usbserial', 1],
  ]);
  t.is(new DataView(bin.buffer, bin.byteOffset).getUint32(0), INDEX_MAGIC);
  const ix = openIndexBin(bin);
  t.deepEqual(indexBinLookup(ix, 'snd_hda_intel').map((v) => v.value), ['kernel/sound/pci/hda/snd-hda-intel.ko: kernel/sound/core/snd.ko']);
  t.deepEqual(indexBinLookup(ix, 'absent'), []);
  const keys = indexBinEntries(ix).map((e) => e.key);
  t.deepEqual(keys, [...keys].sort(), 'entries in byte order');
  t.deepEqual(indexBinEntries(ix).find((e) => e.key === 'usb:v*p*d*')!.values.map((v) => [v.priority, v.value]), [[1, 'usbserial'], [2, 'usbcore']]);
  t.deepEqual(indexBinMatch(ix, 'pci:v00008086d000010D3sv0').map((e) => e.key), ['pci:v00008086d*', 'pci:v00008086d000010D3*']);
});

test('a file that is not a version-2 index is a typed error', (t) => {
  for (const bad of [new Uint8Array(4), new Uint8Array(16), (() => { const b = build([['a', 'b', 0]]); b[5] = 9; return b; })()]) {
    const e = t.throws(() => openIndexBin(bad));
    t.true(isKmodkitError(e), String(e));
  }
});

test('module names as kmod makes them', (t) => {
  t.is(modnameNormalize('snd-hda-intel.ko.xz'), 'snd_hda_intel');
  t.is(modnameFromPath('/lib/modules/6.1/kernel/drivers/net/e1000e.ko.zst'), 'e1000e');
  t.true(MODULE_FILE_RE.test('a.ko') && MODULE_FILE_RE.test('a.ko.gz') && MODULE_FILE_RE.test('a.ko.zst'));
  t.false(MODULE_FILE_RE.test('a.ko.bz2') || MODULE_FILE_RE.test('a.kox'));
  t.is(aliasNormalize('pci:v-1[a-b]'), 'pci:v_1[a-b]');
  t.is(aliasNormalize('bad]alias'), null);
});

/** Big-endian u32s and NUL-terminated strings, for spelling out expected index bytes. */
function bytes(...parts: (number | string | [number, number])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...[...p].map((c) => c.charCodeAt(0)), 0);
    else if (Array.isArray(p)) out.push(...p);
    else out.push(p >>> 24, (p >>> 16) & 0xff, (p >>> 8) & 0xff, p & 0xff);
  }
  return Uint8Array.from(out);
}

test('kmod .bin layouts: kmod 34 writes each node before its children, kmod 30 after; both read back alike', (t) => {
  // keys "ab" → x and "ac" → y: the root (no prefix) has one child 'a', a node with children
  // 'b' and 'c', each a leaf holding one value
  const root = indexCreate();
  indexInsert(root, 'ab', 'x', 0);
  indexInsert(root, 'ac', 'y', 1);
  const VALUES = 0x40000000, CHILDS = 0x20000000;
  const rootSize = 2 + 4; // first/last, one ref
  const nodeSize = 2 + 4 * 2; // first/last, two refs
  const leaf = 4 + 4 + 2; // count, priority, "x\0"
  // kmod 34: header, the root at 12, the 'a' node at 18, leaf b at 28, leaf c at 38
  const v34 = bytes(0xb007f457, 0x00020001, (12 | CHILDS) >>> 0,
    [0x61, 0x61], (12 + rootSize) | CHILDS,
    [0x62, 0x63], (12 + rootSize + nodeSize) | VALUES, (12 + rootSize + nodeSize + leaf) | VALUES,
    1, 0, 'x',
    1, 1, 'y');
  t.deepEqual(indexWrite(root, '34'), v34);
  t.deepEqual(indexWrite(root), v34, 'kmod 34 is the default');
  // kmod 30: leaves first (12, 22), then the 'a' node (32), the root last (42), its reference in the header
  const v30 = bytes(0xb007f457, 0x00020001, (42 | CHILDS) >>> 0,
    1, 0, 'x',
    1, 1, 'y',
    [0x62, 0x63], 12 | VALUES, (12 + leaf) | VALUES,
    [0x61, 0x61], 32 | CHILDS);
  t.deepEqual(indexWrite(root, '30'), v30);
  // a prefix: "abc" and "abd" share "b" below the root's 'a' child
  const p = indexCreate();
  indexInsert(p, 'abc', 'x', 0);
  indexInsert(p, 'abd', 'y', 0);
  const pbin = indexWrite(p, '34');
  t.deepEqual(pbin.subarray(12, 18), bytes([0x61, 0x61], (18 | CHILDS | 0x80000000) >>> 0), "the root's child reference announces the prefix");
  t.deepEqual(pbin.subarray(18, 22), bytes('b', [0x63, 0x64]), 'the prefix, then its child table');
  t.deepEqual(indexBinEntries(openIndexBin(v34)), indexBinEntries(openIndexBin(v30)));
  t.deepEqual(indexBinLookup(openIndexBin(v34), 'ac').map((v) => v.value), ['y']);
  // an empty index is the 12-byte header in both, pointing at the empty root right after it
  t.deepEqual(indexWrite(indexCreate(), '34'), indexWrite(indexCreate(), '30'));
  t.deepEqual(indexWrite(indexCreate(), '34'), bytes(0xb007f457, 0x00020001, 12));
});

test('kmod .bin layouts: a larger trie (gaps in the child table, values inside) reads back identically in both', (t) => {
  const root = indexCreate();
  const rows: [string, string, number][] = [];
  for (let i = 0; i < 300; i++) rows.push([`k${(i * 7919) % 1000}:${i % 3 ? 'x' : 'yz'}${i % 17}`, `v${i}`, i % 5]);
  rows.push(['k', 'short', 0], ['k1', 'inner', 2]);
  for (const [k, v, p] of rows) indexInsert(root, k, v, p);
  const a = indexWrite(root, '34');
  const b = indexWrite(root, '30');
  t.is(a.length, b.length);
  t.notDeepEqual(a, b);
  t.deepEqual(indexBinEntries(openIndexBin(a)), indexBinEntries(openIndexBin(b)));
  t.is(indexBinEntries(openIndexBin(a)).length, new Set(rows.map((r) => r[0])).size);
});

test('modules.alias text: the module is the last word, a pattern may hold spaces (as arm64 6.12\'s "mt8188 mt6359 soc card")', (t) => {
  t.deepEqual(parseAliasFile('# Aliases extracted from modules themselves.\nalias pci:v00008086d* e1000e\nalias mt8188 mt6359 soc card mt8188_mt6359\nalias  symbol:x\tm \nalias lonely\n'), [
    { pattern: 'pci:v00008086d*', module: 'e1000e' },
    { pattern: 'mt8188 mt6359 soc card', module: 'mt8188_mt6359' },
    { pattern: 'symbol:x', module: 'm' },
  ]);
});
