import test from 'ava';
import { bytesOf, checkRange, concatBytes, cstring, cstringBytes, decodeText, hex32, inRange, slice, u16, u32, u64, u64big, uword, withEndian } from '../../../lib/bytes/reader.js';
import { isKmodkitError } from '../../../lib/errors.js';

const data = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x41, 0x42, 0x00]);

test('one reader, both endiannesses', (t) => {
  const le = bytesOf(data, true);
  const be = withEndian(le, false);
  t.is(u16(le, 0), 0x0201);
  t.is(u16(be, 0), 0x0102);
  t.is(u32(le, 0), 0x04030201);
  t.is(u32(be, 0), 0x01020304);
  t.is(u64big(le, 0), 0x0807060504030201n);
  t.is(u64(be, 0), 0x0102030405060708 > Number.MAX_SAFE_INTEGER ? Infinity : 0x0102030405060708);
  t.is(uword(le, 0, 4), u32(le, 0));
});

test('a 64-bit value too large for a safe number reads as Infinity, so every range check rejects it', (t) => {
  const b = bytesOf(Uint8Array.from([0, 0, 0, 0, 0, 0, 0x20, 0]), true);
  t.is(u64(b, 0), Infinity);
  t.false(inRange(u64(b, 0), 1, 1 << 30));
});

test('reads past the end and bad ranges are typed errors, never wrapped offsets', (t) => {
  const b = bytesOf(data, true);
  for (const f of [() => u32(b, 10), () => u64(b, 5), () => slice(data, 4, 9), () => checkRange(-1, 1, 12), () => checkRange(2 ** 53, 1, 12), () => uword(b, 0, 3)]) {
    const e = t.throws(f);
    t.true(isKmodkitError(e), String(e));
  }
  t.true(inRange(4, 8, 12));
  t.false(inRange(4, 9, 12));
  t.is(slice(data, 9, 2).length, 2);
});

test('C strings: found only with their NUL inside the bound', (t) => {
  t.is(cstring(data, 9), 'AB');
  t.deepEqual([...cstringBytes(data, 9)!], [0x41, 0x42]);
  t.is(cstring(data, 9, 11), null, 'NUL outside the bound');
  t.is(cstring(data, 12), null);
  t.is(decodeText(Uint8Array.from([0xc3, 0xa9])), 'é', 'valid UTF-8');
  t.is(decodeText(Uint8Array.from([0xe9])), 'é', 'anything else as Latin-1: no byte lost');
});

test('concatBytes and hex32', (t) => {
  t.deepEqual([...concatBytes([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)])], [1, 2, 3]);
  t.is(concatBytes([]).length, 0);
  t.is(hex32(0xb77841c1), '0xb77841c1');
  t.is(hex32(1), '0x00000001');
});
