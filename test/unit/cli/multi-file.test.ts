/**
 * Text output for several files: each file's block is labelled (a "FILE:"
 * header, as head/grep do; inspect's summary starts with the path itself);
 * one file prints no header, so single-file output stays the reference tool's.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';

const CLI = new URL('../../../cli/index.js', import.meta.url).pathname;
const KO = new URL('../../../../samples/ko/', import.meta.url).pathname;
const A = `${KO}hello.ko`;
const B = `${KO}kmodkit_exporter.ko.xz`;

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

for (const cmd of [['versions'], ['symbols', '--exports'], ['symbols', '--imports'], ['params']]) {
  test(`${cmd.join(' ')}: a FILE: header per file when several are given, none for one`, (t) => {
    const two = run(...cmd, A, B);
    t.is(two.status, 0, two.stderr);
    const one = run(...cmd, B);
    t.false(one.stdout.includes(`${B}:\n`));
    // the second file's block is its single-file output after a blank line and its header
    t.is(two.stdout.slice(two.stdout.indexOf(`\n${B}:\n`)), `\n${B}:\n${one.stdout}`);
    t.true(two.stdout.startsWith(`${A}:\n`));
  });
}

test('inspect: every summary starts with its file, blocks separated by a blank line', (t) => {
  const two = run('inspect', A, B);
  t.is(two.status, 0, two.stderr);
  t.true(two.stdout.startsWith(`${A}\n`));
  t.true(two.stdout.includes(`\n\n${B}\n`));
});
