import test from 'ava';
import { readFileSync } from 'node:fs';
import { memorySource } from '../../../lib/bytes/source.js';
import { SHF_ALLOC } from '../../../lib/elf/constants.js';
import { readElf, section } from '../../../lib/elf/file.js';
import { isKmodkitError } from '../../../lib/errors.js';
import { moduleInfo, readModule } from '../../../lib/module/module.js';
import { stripForForce } from '../../../lib/load/strip.js';

const HELLO = new URL('../../../../samples/ko/hello.ko', import.meta.url).pathname;
const image = new Uint8Array(readFileSync(HELLO));

function diff(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

test('modversions: exactly one byte changes and __versions loses SHF_ALLOC', (t) => {
  const before = section(readElf(memorySource(image)), '__versions');
  t.truthy(before);
  t.true((before!.flags & SHF_ALLOC) !== 0);
  const r = stripForForce(image, { modversions: true });
  t.is(r.image.length, image.length);
  t.is(diff(image, r.image).length, 1);
  const after = section(readElf(memorySource(r.image)), '__versions');
  t.is(after!.flags & SHF_ALLOC, 0);
  t.is(after!.flags, before!.flags & ~SHF_ALLOC);
  t.deepEqual(r.changes.map((c) => c.what), ['versions-alloc']);
  t.not(r.image, image, 'a copy');
  t.is(image[r.changes[0].offset], r.image[r.changes[0].offset] | SHF_ALLOC, 'input untouched');
});

test('vermagic: the whole string (key included) becomes NUL', (t) => {
  const mod = readModule(memorySource(image));
  const vm = moduleInfo(mod).find((e) => e.key === 'vermagic')!.value;
  const r = stripForForce(image, { vermagic: true });
  const changed = diff(image, r.image);
  const len = 'vermagic='.length + new TextEncoder().encode(vm).length;
  t.is(r.changes[0].length, len);
  t.true(changed.length <= len && changed.length > 0);
  for (let i = r.changes[0].offset; i < r.changes[0].offset + len; i++) t.is(r.image[i], 0);
  const after = moduleInfo(readModule(memorySource(r.image)));
  t.is(after.find((e) => e.key === 'vermagic'), undefined);
  t.is(after.length, moduleInfo(mod).length - 1, 'other modinfo strings intact');
});

test('both, and a .modinfo without vermagic is ENODATA', (t) => {
  const both = stripForForce(image, { modversions: true, vermagic: true });
  t.is(both.changes.length, 2);
  const e = t.throws(() => stripForForce(both.image, { vermagic: true }));
  t.true(isKmodkitError(e) && e.errno === 'ENODATA');
  t.regex(e!.message, /Failed to strip version information: No data available/);
  // nothing asked: identical copy; modversions again: already clear, no change
  t.deepEqual(diff(image, stripForForce(image, {}).image), []);
  t.deepEqual(stripForForce(both.image, { modversions: true }).changes, []);
});
