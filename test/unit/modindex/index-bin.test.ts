import test from 'ava';
import { indexBinEntries, indexBinLookup, indexBinMatch, openIndexBin } from '../../../lib/modindex/index-bin-read.js';
import { INDEX_MAGIC, indexCreate, indexInsert, indexWrite } from '../../../lib/modindex/index-bin-write.js';
import { aliasNormalize, MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../../../lib/modindex/names.js';
import { isKmodkitError } from '../../../lib/errors.js';

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
