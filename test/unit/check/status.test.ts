/** lib/check/status.ts: the pure judging of the running system over plain data. */
import test from 'ava';
import { decodeTaintLetters, decodeTaintMask, judgeFile, judgeIndex, moduleState, parameterStatus, parseOptions } from '../../../lib/check/status.js';

test('taint mask and letters decoded with the kernel\'s names', (t) => {
  t.deepEqual(decodeTaintMask(0), []);
  t.deepEqual(decodeTaintMask(12288).map((f) => f.letter), ['O', 'E']);
  t.deepEqual(decodeTaintMask(1 + 512).map((f) => f.flag), ['TAINT_PROPRIETARY_MODULE', 'TAINT_WARN']);
  t.deepEqual(decodeTaintMask(2 ** 30), [{ bit: 30, letter: '?', flag: 'TAINT_BIT_30' }], 'a bit newer than the table');
  t.deepEqual(decodeTaintLetters('POE').map((f) => f.bit), [0, 12, 13]);
});

test('judgeFile: build-id first, srcversion second, release before both', (t) => {
  const file = { state: 'present' as const, path: '/m.ko', buildId: 'aa', srcversion: 'S1', release: '6.1' };
  t.is(judgeFile({ buildId: 'aa' }, file, '6.1').drift, 'same');
  t.is(judgeFile({ buildId: 'bb' }, file, '6.1').drift, 'replaced');
  t.is(judgeFile({ srcversion: 'S1' }, file, '6.1').drift, 'same');
  t.is(judgeFile({ srcversion: 'S2' }, file, '6.1').reason, 'file replaced since load: srcversion S1, loaded S2');
  t.is(judgeFile({ buildId: 'aa' }, file, '6.12').drift, 'other-kernel');
  t.is(judgeFile({}, file, '6.1').drift, 'unknown');
  t.is(judgeFile({ buildId: 'aa' }, { state: 'gone', path: '/m.ko' }, '6.1').reason, 'file gone: /m.ko no longer exists');
  t.is(judgeFile({}, { state: 'not-indexed' }, '6.1').drift, 'not-indexed');
});

test('states, options, parameters, index', (t) => {
  t.deepEqual(['Live', 'Loading', 'Unloading', 'x'].map(moduleState), ['live', 'coming', 'going', 'unknown']);
  t.deepEqual([...parseOptions('a=1 b="x y" c')], [['a', '1'], ['b', 'x y'], ['c', '']]);
  t.deepEqual(parameterStatus({ a: 'N', b: '2' }, new Map([['a', '0'], ['c', '3']])), [
    { name: 'a', live: 'N', configured: '0', differs: false },
    { name: 'b', live: '2', differs: false },
    { name: 'c', configured: '3', differs: false },
  ]);
  t.is(judgeIndex('/d', 10, { path: '/d/x.ko', mtimeMs: 11 }).state, 'stale');
  t.is(judgeIndex('/d', 10, { path: '/d/x.ko', mtimeMs: 10 }).state, 'fresh');
  t.is(judgeIndex('/d', undefined, undefined).state, 'missing');
});
