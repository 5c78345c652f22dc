/**
 * The one error type as users meet it: its name in stack traces and in
 * util.inspect (what Node prints for an uncaught error), instanceof and the
 * type guard, describe().
 */
import test from 'ava';
import { inspect } from 'node:util';
import { KmodkitError, isKmodkitError } from '../../../lib/errors.js';

test('stack traces and util.inspect name the class KmodkitError', (t) => {
  const e = new KmodkitError('ENOENT', 'no such module', { file: 'x.ko' });
  t.is(KmodkitError.name, 'KmodkitError');
  t.is(e.constructor.name, 'KmodkitError');
  t.is(e.name, 'KmodkitError');
  t.true(e.stack!.startsWith('KmodkitError: no such module\n'), e.stack);
  t.false(e.stack!.includes('Impl'), e.stack);
  const shown = inspect(e);
  t.true(shown.startsWith('KmodkitError: no such module\n'), shown.split('\n')[0]);
  t.false(shown.includes('Impl'), shown.split('\n')[0]);
});

test('instanceof, the type guard and describe()', (t) => {
  const e = new KmodkitError('EINPUT', 'bad value');
  t.true(e instanceof KmodkitError);
  t.true(e instanceof Error);
  t.true(isKmodkitError(e));
  t.false(isKmodkitError(new Error('x')));
  t.is(e.describe(), 'bad value');
  e.file = 'a.ko';
  t.is(e.describe(), 'a.ko: bad value');
});
