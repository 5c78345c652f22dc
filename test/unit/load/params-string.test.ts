import test from 'ava';
import { isKmodkitError } from '../../../lib/errors.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { decodeParams } from '../../../lib/module/params.js';
import { buildParamsString, checkParamArgs, splitKernelArgs, paramArgs } from '../../../lib/load/params-string.js';

const SAMPLES = new URL('../../../../samples/ko/', import.meta.url).pathname;

function einput(t: import('ava').ExecutionContext, fn: () => unknown, re?: RegExp): void {
  const e = t.throws(fn);
  t.true(isKmodkitError(e) && e.code === 'EINPUT', `expected EINPUT, got ${String(e)}`);
  if (re) t.regex(e!.message, re);
}

test('object input: literal values, quoting only where needed', (t) => {
  t.is(buildParamsString({ a: 1, s: 'x y', b: true, f: false, n: null, arr: [1, 2, 3], big: 18000000000000000000n, skip: undefined }),
    'a=1 s="x y" b=1 f=0 n arr=1,2,3 big=18000000000000000000');
  t.is(buildParamsString({}), '');
  t.is(buildParamsString(undefined), '');
  t.is(buildParamsString({ e: '' }), 'e=');
  t.is(buildParamsString({ t: 'tab\there' }), 't="tab\there"');
  t.is(buildParamsString({ nl: 'a\nb' }), 'nl="a\nb"', 'newline is whitespace: quoted, and the kernel keeps it');
  t.is(buildParamsString({ q: 'a"b"c' }), 'q=a"b"c', 'balanced inner quotes without whitespace pass raw');
  t.is(buildParamsString({ q: '"q"' }), 'q=""q""', 'a value that starts and ends with a quote survives double wrapping');
});

test('list input follows kmod: wrap values with spaces unless already quoted', (t) => {
  t.is(buildParamsString(['a=b c', 'd', 'e="x y"']), 'a="b c" d e="x y"');
  t.deepEqual(paramArgs(['a=b c', 'd', 'e="x y"']), [
    { name: 'a', value: 'b c' },
    { name: 'd', value: null },
    { name: 'e', value: 'x y' },
  ]);
  t.is(buildParamsString(['x=1', 'y=']), 'x=1 y=');
});

test('refuses what next_arg cannot express', (t) => {
  einput(t, () => buildParamsString({ s: 'say "hi" there' }), /no escape/);
  einput(t, () => buildParamsString({ s: 'a"b' }), /double quotes/);
  einput(t, () => buildParamsString({ s: 'a\0b' }), /NUL/);
  einput(t, () => buildParamsString({ 'bad name': '1' }), /whitespace in a name/);
  einput(t, () => buildParamsString({ 'a=b': '1' }), /'='/);
  einput(t, () => buildParamsString(['--']), /--/);
  einput(t, () => buildParamsString(["f='q r'"]), /single quotes/);
  einput(t, () => buildParamsString(['g h']), /whitespace in a name/);
  einput(t, () => buildParamsString(['e="x y']), /not one kernel token|unbalanced/);
  einput(t, () => buildParamsString({ arr: ['a,b', 'c'] }), /separator/);
  einput(t, () => buildParamsString({ x: 1.5e300 }), /2\^53/);
  einput(t, () => buildParamsString('a=1 -- b=2'), /--/);
});

test('splitKernelArgs mirrors next_arg/parse_args', (t) => {
  t.deepEqual(splitKernelArgs('  a="b c"  d e=f"g h"i -- rest here').args, [
    { name: 'a', value: 'b c' },
    { name: 'd', value: null },
    { name: 'e', value: 'f"g h"i' },
  ]);
  t.is(splitKernelArgs('a=1 -- rest here').rest, 'rest here');
  t.deepEqual(splitKernelArgs('"x=y z"').args, [{ name: 'x', value: 'y z' }]);
  t.deepEqual(splitKernelArgs('=a b').args, [{ name: '=a', value: null }, { name: 'b', value: null }]);
  t.deepEqual(splitKernelArgs('a==b').args, [{ name: 'a', value: '=b' }]);
});

test('checks names and values against __param (kmodkit_params.ko)', async (t) => {
  const mod = await readModuleFile(`${SAMPLES}kmodkit_params.ko`);
  const params = decodeParams(mod).params;
  const ok = { byteval: 255, shortval: -32768, ushortval: 65535, intval: '-0x10', uintval: '037', longval: -9000000000, ulongval: 18446744073709551615n,
    hexval: '0xdeadbeef', boolval: 'on', invboolval: 'y', charpval: 'hello world', strval: '15 chars long!!', intarr: [1, 2, 3, 4], charparr: ['a', 'b', 'c'],
    boolarr: ['y', 'n'], mode: 'whatever', verbose: 3, hidden: 1, nodesc: 0, dyndbg: '+p' };
  t.is(buildParamsString(ok, { params, module: 'kmodkit_params' }).includes('charpval="hello world"'), true);
  const bad = (input: Record<string, unknown>, kind: string, re: RegExp) => {
    const e = t.throws(() => buildParamsString(input as never, { params, module: 'kmodkit_params' }));
    t.true(isKmodkitError(e) && e.code === 'EINPUT');
    const problems = (e as { detail?: { problems?: { kind: string }[] } }).detail?.problems ?? [];
    t.is(problems[0]?.kind, kind, JSON.stringify(input));
    t.regex(e!.message, re);
  };
  bad({ nosuch: 1 }, 'unknown', /no parameter 'nosuch'/);
  bad({ intval: 'abc' }, 'type', /intval/);
  bad({ byteval: 256 }, 'type', /byteval/);
  bad({ ushortval: -1 }, 'type', /ushortval/);
  bad({ intarr: [1, 2, 3, 4, 5] }, 'count', /at most 4/);
  bad({ boolval: 'maybe' }, 'type', /boolval/);
  bad({ intval: null }, 'missing-value', /needs a value/);
  bad({ invboolval: null }, 'missing-value', /needs a value/); // invbool has no NOARG flag
  bad({ strval: '16 chars long!!!' }, 'too-long', /at most 15/);
  bad({ charpval: 'x'.repeat(1025) }, 'too-long', /1024/);
  bad({ intarr: [1, 'x'] }, 'type', /element 1/);
  // unknown names may be let through (the kernel ignores them)
  t.is(buildParamsString({ nosuch: 1 }, { params, unknown: 'ignore' }), 'nosuch=1');
  t.deepEqual(checkParamArgs([{ name: 'boolval', value: null }], params), []);
});

test('0xA0 is kernel whitespace on the UTF-8 bytes: no value can start a second parameter', async (t) => {
  const PARAMS = decodeParams(await readModuleFile(`${SAMPLES}kmodkit_params.ko`)).params;
  // 'à' is C3 A0: unquoted, the kernel sees charpval=\xC3 and a smuggled intval=5
  const raw = splitKernelArgs('charpval=àintval=5').args;
  t.is(raw.length, 2);
  t.deepEqual(raw[1], { name: 'intval', value: '5' });
  t.not(raw[0].value, 'àintval=5');
  // every input form quotes it, and the kernel then sees one parameter
  for (const input of [{ charpval: 'àintval=5' }, ['charpval=àintval=5']] as const) {
    const s = buildParamsString(input);
    t.is(s, 'charpval="àintval=5"');
    t.deepEqual(splitKernelArgs(s).args, [{ name: 'charpval', value: 'àintval=5' }]);
  }
  // checked against the module's __param: one charp, no intval in sight
  t.deepEqual(checkParamArgs(paramArgs({ charpval: 'àintval=5' }), PARAMS), []);
  // NBSP (C2 A0) and the other ASCII spaces are whitespace too
  t.is(buildParamsString({ charpval: 'a\u00a0b' }), 'charpval="a\u00a0b"');
  t.deepEqual(splitKernelArgs('a=1\u00a0b=2').args, [{ name: 'a', value: '1\uFFFD' }, { name: 'b', value: '2' }]);
  t.deepEqual(splitKernelArgs('a=1\vb=2\fc').args, [{ name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'c', value: null }]);
  // a ready-made string the kernel would cut inside a character is refused
  const e = t.throws(() => buildParamsString('charpval=àintval=5'));
  t.regex(e!.message, /inside a UTF-8 character/);
  // a NUL ends the kernel's string
  t.deepEqual(splitKernelArgs('a=1\0b=2').args, [{ name: 'a', value: '1' }]);
});

test('one splitter: the pre-flight check and the loader split the same way', async (t) => {
  const k = await import('../../../lib/check/kparams.js');
  t.is(k.splitKernelArgs, splitKernelArgs);
  t.is(k.paramString([{ name: 'charpval', value: 'àx' }]), 'charpval="àx"');
});
