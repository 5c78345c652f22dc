/**
 * Name and alias lookups in a modules directory (lib/io/modules-dir.ts), as
 * libkmod performs them: the binary indexes are the authority; text-only
 * trees are a documented kmodkit extension (docs/compatibility.md).
 * The orders pinned here were read off Debian 12's kmod 30 (`modinfo`,
 * `modprobe -R`) on the same trees; the kmod testsuite tier
 * (test/kmod-testsuite) compares against the real tools.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupAlias, lookupName, openModulesDir } from '../../../lib/io/modules-dir.js';
import { indexCreate, indexInsert, indexWrite } from '../../../lib/modindex/index-bin-write.js';
import { indexBinSearchWild, openIndexBin } from '../../../lib/modindex/index-bin-read.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../../cli/index.js', import.meta.url));

const base = mkdtempSync(join(tmpdir(), 'kmodkit-mdir-'));
test.after.always(() => rmSync(base, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(base, name, 'lib/modules/1.0');
  mkdirSync(dir, { recursive: true });
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  return dir;
}

function bin(rows: [string, string, number][]): Uint8Array {
  const root = indexCreate();
  for (const [k, v, p] of rows) indexInsert(root, k, v, p);
  return indexWrite(root, '30');
}

/** Patterns where one module matches twice, wildcard children and exact keys mixed (kmod 30: foo foo foo qux bar baz). */
const ALIAS_ROWS: [string, string, number][] = [
  ['pci:v1234d*', 'foo', 0], ['pci:v1234d5*', 'foo', 0], ['pci:v*d5*', 'bar', 1],
  ['pci:v1234d5', 'baz', 2], ['pci:v1234d?', 'qux', 1], ['pci:v1234d[0-9]', 'foo', 0],
];

test("index_searchwild's order: by priority, the last found first among equals, duplicates kept", (t) => {
  const ix = openIndexBin(bin(ALIAS_ROWS));
  t.deepEqual(indexBinSearchWild(ix, 'pci:v1234d5').map((v) => v.value), ['foo', 'foo', 'foo', 'qux', 'bar', 'baz']);
  t.deepEqual(indexBinSearchWild(ix, 'pci:v1234d77').map((v) => v.value), ['foo']);
  t.deepEqual(indexBinSearchWild(ix, 'pci:v9d5').map((v) => v.value), ['bar']);
  t.deepEqual(indexBinSearchWild(ix, 'usb:v1'), []);
  // a query holding wildcards follows them both ways, as kmod does (a pattern string used as the alias: kmod 30 prints foo foo qux)
  t.deepEqual(indexBinSearchWild(ix, 'pci:v1234d*').map((v) => v.value), ['foo', 'foo', 'qux']);
  t.deepEqual(indexBinSearchWild(ix, 'pci:v*d5*').map((v) => v.value), ['bar', 'bar']);
});

test('issue 28 item 10: an alias matching one module through two patterns lists it twice (modinfo prints it twice)', (t) => {
  const dir = tree('dup', { 'modules.alias.bin': bin(ALIAS_ROWS), 'modules.dep.bin': bin([]) });
  const md = openModulesDir(dir);
  t.deepEqual(lookupAlias(md, 'pci:v1234d5').map((r) => r.name), ['foo', 'foo', 'foo', 'qux', 'bar', 'baz']);
  const r = spawnSync(process.execPath, [CLI, 'modinfo', '-b', join(base, 'dup'), '-k', '1.0', '-F', 'name', 'pci:v1234d5'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'foo\nfoo\nfoo\nqux\nbar\nbaz\n');
});

test('issue 28 item 1: built-in modules from modules.builtin.bin when there is no text modules.builtin', (t) => {
  const dir = tree('builtin-bin', { 'modules.builtin.bin': bin([['intel_uncore', '', 0]]) });
  const md = openModulesDir(dir);
  t.deepEqual(lookupName(md, 'intel-uncore'), { kind: 'builtin', name: 'intel_uncore' });
  t.deepEqual(lookupAlias(md, 'intel_uncore'), [{ kind: 'builtin', name: 'intel_uncore' }]);
  t.true(md.isBuiltin('intel_uncore'));
  t.deepEqual([...md.builtin()], ['intel_uncore']);
});

test('the binary index is the authority: text files that disagree with it are not read', (t) => {
  const dir = tree('disagree', {
    'modules.dep': 'kernel/a.ko:\nkernel/b.ko:\n',
    'modules.dep.bin': bin([['a', 'kernel/a.ko:', 0]]),
    'modules.alias': 'alias x-y b\n',
    'modules.alias.bin': bin([['x_y', 'a', 0]]),
    'modules.builtin': 'kernel/c.ko\n',
    'modules.builtin.bin': bin([]),
  });
  const md = openModulesDir(dir);
  t.is(lookupName(md, 'b'), null);
  t.deepEqual(lookupAlias(md, 'x-y').map((r) => r.name), ['a']);
  t.false(md.isBuiltin('c'));
});

test('issue 28 item 8 (kmodkit extension): text-only trees are indexed as depmod would write them and searched the same way', (t) => {
  const text = tree('text-only', {
    'modules.dep': 'kernel/foo.ko:\nkernel/qux.ko:\nkernel/bar.ko: kernel/foo.ko\nkernel/baz.ko:\n',
    'modules.alias': ALIAS_ROWS.map(([k, v]) => `alias ${k} ${v}\n`).join(''),
    'modules.builtin': 'kernel/arch/x86/events/intel/intel-uncore.ko\n',
    'modules.builtin.modinfo': 'acpi.alias=acpi*:PNP0C0A:*\0intel_uncore.license=GPL\0',
  });
  const md = openModulesDir(text);
  // priorities from modules.dep order: foo 0, qux 1, bar 2, baz 3
  t.deepEqual(lookupAlias(md, 'pci:v1234d5').map((r) => r.name), ['foo', 'foo', 'foo', 'qux', 'bar', 'baz']);
  t.deepEqual(lookupName(md, 'bar'), { kind: 'file', name: 'bar', path: `${text}/kernel/bar.ko`, deps: [`${text}/kernel/foo.ko`] });
  t.deepEqual(lookupName(md, 'intel_uncore'), { kind: 'builtin', name: 'intel_uncore' });
  t.deepEqual(lookupAlias(md, 'acpi:x:PNP0C0A:y'), [{ kind: 'builtin', name: 'acpi' }]);
});

test('a malformed .bin is read as kmod reads it (nothing found), not replaced by the text file', (t) => {
  const dir = tree('corrupt', { 'modules.dep': 'kernel/a.ko:\n', 'modules.dep.bin': 'not an index' });
  t.is(lookupName(openModulesDir(dir), 'a'), null);
});
