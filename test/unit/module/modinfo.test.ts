import test from 'ava';
import { modinfoDepends, modinfoValue, modinfoValues, parseModinfo } from '../../../lib/module/modinfo.js';
import { mergeParms } from '../../../lib/module/parm.js';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

test('splits on NUL, collapses padding runs, skips leading padding, keeps order and repeats', (t) => {
  const e = parseModinfo(bytes('\0\0\0author=A\0\0\0\0author=B <b@x>\0description=x=y:z\0novalue\0depends=\0'));
  t.deepEqual(e.map((x) => [x.key, x.value]), [
    ['author', 'A'], ['author', 'B <b@x>'], ['description', 'x=y:z'], ['novalue', ''], ['depends', ''],
  ]);
  t.true(e[3].noEquals);
  t.falsy(e[4].noEquals);
  t.is(modinfoValue(e, 'author'), 'A');
  t.deepEqual(modinfoValues(e, 'author'), ['A', 'B <b@x>']);
});

test('an unterminated last string is kept; sizes 0 and 1 give nothing (libkmod rule)', (t) => {
  t.deepEqual(parseModinfo(bytes('a=1\0b=2')).map((x) => x.value), ['1', '2']);
  t.deepEqual(parseModinfo(bytes('')), []);
  t.deepEqual(parseModinfo(bytes('x')), []);
  t.deepEqual(parseModinfo(bytes('\0')), []);
  t.deepEqual(parseModinfo(bytes('\0\0\0')), []);
  t.deepEqual(parseModinfo(bytes('x\0')).map((x) => x.key), ['x']);
});

test('non-UTF-8 bytes survive unchanged in valueBytes', (t) => {
  const raw = Uint8Array.from([...bytes('author=J'), 0xfc, ...bytes('rgen'), 0]);
  const [e] = parseModinfo(raw);
  t.deepEqual(Array.from(e.valueBytes), [0x4a, 0xfc, 0x72, 0x67, 0x65, 0x6e]);
  t.is(e.value, 'J\u00fcrgen');
});

test('depends splits on commas and drops empties', (t) => {
  t.deepEqual(modinfoDepends(parseModinfo(bytes('depends=a,b-c,\0'))), ['a', 'b-c']);
  t.deepEqual(modinfoDepends(parseModinfo(bytes('depends=\0'))), []);
});

test('parm/parmtype merge: reverse first appearance, desc/type pairing, invalid entries reported', (t) => {
  const e = parseModinfo(bytes('parmtype=b:int\0parm=b:the b\0parm=a:only desc\0parmtype=c:charp\0parm=noco lon\0'));
  const m = mergeParms(e);
  t.deepEqual(m.params.map((p) => [p.name, p.description, p.type]), [
    ['c', undefined, 'charp'],
    ['a', 'only desc', undefined],
    ['b', 'the b', 'int'],
  ]);
  t.is(m.invalid.length, 1);
  t.is(m.invalid[0].value, 'noco lon');
});

test('a later parm for the same name replaces the description (kmod keeps the last)', (t) => {
  const m = mergeParms(parseModinfo(bytes('parm=x:first\0parm=x:second\0')));
  t.is(m.params.length, 1);
  t.is(m.params[0].description, 'second');
});
