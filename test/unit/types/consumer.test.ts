/**
 * The consumer type test: test/types/consumer.ts, a library user's file, is
 * type-checked against the built declarations (dist/lib/*.d.ts through the
 * package's `exports`) under strict, exactOptionalPropertyTypes and
 * noUncheckedIndexedAccess. It must compile as written, and with its
 * `@ts-expect-error` directives removed every one of those lines — and only
 * those — must fail, so the wrong usages really are refused.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const CONSUMER = join(ROOT, 'test/types/consumer.ts');

function tsc(project: string): { status: number; out: string } {
  try {
    return { status: 0, out: execFileSync(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { encoding: 'utf8' }) };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { status: err.status, out: err.stdout };
  }
}

test('the consumer file type-checks under strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess', (t) => {
  const r = tsc(join(ROOT, 'test/types/tsconfig.json'));
  t.is(r.status, 0, r.out);
});

test('without its @ts-expect-error directives, exactly the marked lines fail', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-types-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/kmodkit'));
  const lines = readFileSync(CONSUMER, 'utf8').split('\n');
  const expected: number[] = [];
  const stripped = lines.map((l, i) => {
    if (!/^\s*\/\/ @ts-expect-error/.test(l)) return l;
    expected.push(i + 2); // 1-based number of the line after the directive
    return '//';
  });
  t.true(expected.length >= 10, `only ${expected.length} wrong usages`);
  writeFileSync(join(dir, 'consumer.ts'), stripped.join('\n'));
  const config = JSON.parse(readFileSync(join(ROOT, 'test/types/tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...config.compilerOptions, typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['consumer.ts'] }));
  const r = tsc(dir);
  t.not(r.status, 0);
  const failing = new Set([...r.out.matchAll(/consumer\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])));
  t.deepEqual([...failing].sort((a, b) => a - b), expected, r.out);
  t.log(`${expected.length} wrong usages refused; the file compiles as written`);
});
