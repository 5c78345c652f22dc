/**
 * Fuzz finding (seed 9 iteration 1383): .modinfo made of many short strings
 * that are not UTF-8 cost ~20 µs each to decode (a TypeError thrown and
 * caught per string), so a few hundred bytes of gzip held moduleInfo() for
 * seconds. decodeText now validates UTF-8 before decoding.
 */
import test from 'ava';
import { decodeText } from '../../../lib/bytes/reader.js';
import { memorySource } from '../../../lib/bytes/source.js';
import { moduleInfo, readModule } from '../../../lib/module/module.js';
import { buildElf } from '../../helpers/elf-builder.js';

test('65,536 invalid-UTF-8 .modinfo strings decode in well under a second', (t) => {
  const n = 256 * 1024;
  const mi = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) mi.set([0xff, 0x3d, 0xfe, 0], i);
  const img = buildElf({ class: 64, le: true, sections: [{ name: '.modinfo', type: 1, data: mi, flags: 2 }] });
  const c0 = process.cpuUsage();
  const entries = moduleInfo(readModule(memorySource(img)));
  const cpu = process.cpuUsage(c0);
  t.is(entries.length, 65536);
  t.is(entries[0].key, 'ÿ');
  t.is(entries[0].value, 'þ');
  t.true((cpu.user + cpu.system) / 1000 < 1500, `took ${(cpu.user + cpu.system) / 1000} ms of CPU`);
});

test('decodeText: the same strings as before the fix (UTF-8 when valid, else ISO-8859-1 on every runtime)', (t) => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  // ISO-8859-1 by definition: each byte the code point of its value
  const latin1 = { decode: (r: Uint8Array) => Array.from(r, (b) => String.fromCharCode(b)).join('') };
  const old = (r: Uint8Array) => {
    try {
      return fatal.decode(r);
    } catch {
      return latin1.decode(r);
    }
  };
  const cases = [
    [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xf4, 0x90, 0x80, 0x80],
    [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82], [0x80], [0xff], [0x41, 0x9f, 0x41],
  ];
  for (let b = 0; b < 256; b++) cases.push([0x61, b, 0x62], [b, 0x80], [b, 0xbf, 0xbf], [b, 0x90, 0x80, 0x80]);
  for (const c of cases) {
    const r = Uint8Array.from(c);
    t.is(decodeText(r), old(r), c.map((x) => x.toString(16)).join(' '));
    const long = new Uint8Array(100).fill(0x61);
    long.set(r, 90);
    t.is(decodeText(long), old(long));
  }
});
