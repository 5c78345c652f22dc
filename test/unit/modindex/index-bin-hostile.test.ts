/**
 * modules.dep.bin made to hurt its reader (issue 30: `.bin` files bounded):
 * a value of millions of bytes (a spread of its bytes overflowed the call
 * stack: RangeError instead of a result), and a lookup path whose every node
 * carries millions of values (read once per character of the key: seconds
 * and hundreds of MiB for an 18 MB file). Each must give a result or
 * KmodkitError within the bound (2 s of CPU).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexBinLookup, openIndexBin } from '../../../lib/modindex/index-bin-read.js';
import { openModulesDir } from '../../../lib/io/modules-dir.js';
import { isKmodkitError } from '../../../lib/errors.js';

const PREFIX = 0x80000000;
const VALUES = 0x40000000;
const CHILDS = 0x20000000;
const u32 = (x: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(x >>> 0);
  return b;
};
const header = (root: number) => Buffer.concat([u32(0xb007f457), u32(0x00020001), u32(root)]);

function cpuMs<T>(fn: () => T): { value: T; ms: number } {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, ms: (c.user + c.system) / 1000 };
}

test('a value of 4 MB (one string) is read, not a RangeError', (t) => {
  // root: child 'h' -> node "ello" with one value of 4 MB
  const node2 = 12 + 2 + 4;
  const data = Buffer.concat([
    header(12 | CHILDS), Buffer.from([0x68, 0x68]), u32(node2 | PREFIX | VALUES),
    Buffer.from('ello\0'), u32(1), u32(0), Buffer.from(`kernel/hello.ko: ${'a'.repeat(4_000_000)}`), Buffer.from([0]),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-depbin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'modules.dep.bin'), data);
  const md = openModulesDir(dir);
  const r = cpuMs(() => md.depEntry('hello'));
  t.is(r.value?.path, 'kernel/hello.ko');
  t.is(r.value?.deps[0].length, 4_000_000);
  t.true(r.ms < 2000, `${r.ms} ms CPU`);
});

test('a lookup path of nodes carrying 3 M values each (a node that is its own child): the values are read once', (t) => {
  const n = 3_000_000;
  const self = 12 | CHILDS | VALUES;
  const kids: Buffer[] = [];
  for (let c = 0x61; c <= 0x7a; c++) kids.push(u32(self));
  const one = Buffer.concat([u32(0), Buffer.from('x\0')]);
  const values = Buffer.alloc(n * one.length);
  for (let i = 0; i < n; i++) one.copy(values, i * one.length);
  const data = Buffer.concat([header(self), Buffer.from([0x61, 0x7a]), ...kids, u32(n), values]);
  const ix = openIndexBin(new Uint8Array(data));
  const r = cpuMs(() => {
    try {
      return indexBinLookup(ix, 'abcdefghijklmnopqrstuvwxyz').length;
    } catch (e) {
      if (!isKmodkitError(e)) throw e;
      return e.code;
    }
  });
  t.log(`${data.length} bytes: ${r.value}, ${r.ms.toFixed(0)} ms CPU`);
  t.is(r.value, n, 'the key ends at the looping node: its values, once');
  t.true(r.ms < 2000, `${r.ms} ms CPU`);
});
