/**
 * The import graph keeps the README's architecture true:
 * - only lib/io touches the file system and the running system
 *   (node:fs, node:child_process; of node:os, others use only its constants
 *   table, such as errno numbers);
 * - FFI (koffi) lives only in lib/load/syscalls.ts and lib/io/native/;
 * - kmodkit/core (lib/core.ts) reaches no Node built-in, lib/io or lib/load.
 * It reads the TypeScript sources, so a moved import fails here first.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const LIB = join(ROOT, 'lib');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports, statically or with import(). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/^\s*(?:import|export)\s+type\s[^;]*;/gm, ''); // erased at compile time
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  return out;
}

const files = sources(LIB);
const rel = (f: string): string => relative(ROOT, f);
const SYSTEM = /^(node:)?(fs|fs\/promises|child_process|os)$/;

/** node:os imported for its constants table only (errno numbers), not the running system. */
function constantsOnly(file: string): boolean {
  const m = /import\s*\{([^}]*)\}\s*from\s*['"](?:node:)?os['"]/.exec(readFileSync(file, 'utf8'));
  return m !== null && m[1]!.split(',').every((n) => /^\s*constants(\s+as\s+\w+)?\s*$/.test(n));
}

test('only lib/io imports node:fs, node:child_process or node:os', (t) => {
  const bad = files.flatMap((f) =>
    rel(f).startsWith('lib/io/') ? [] : specifiers(f).filter((s) => SYSTEM.test(s) && !(/^(node:)?os$/.test(s) && constantsOnly(f))).map((s) => `${rel(f)} imports ${s}`));
  t.log(`${files.length} files under lib/ read`);
  t.deepEqual(bad, []);
});

test('koffi is imported only by lib/load/syscalls.ts and lib/io/native/', (t) => {
  const users = files.filter((f) => specifiers(f).includes('koffi')).map(rel);
  t.true(users.length > 0, 'the check would be vacuous if nothing imported koffi');
  t.deepEqual(users.filter((f) => f !== 'lib/load/syscalls.ts' && !f.startsWith('lib/io/native/')), []);
});

test('kmodkit/core reaches no Node built-in, lib/io or lib/load', (t) => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of specifiers(file)) {
      if (s.startsWith('node:') || SYSTEM.test(s) || s === 'koffi') { bad.push(`${rel(file)} imports ${s}`); continue; }
      if (!s.startsWith('.')) continue;
      const target = resolve(dirname(file), s.replace(/\.js$/, '.ts'));
      const r = rel(target);
      if (r.startsWith('lib/io/') || r.startsWith('lib/load/')) bad.push(`${rel(file)} imports ${r}`);
      else visit(target);
    }
  };
  visit(join(LIB, 'core.ts'));
  t.log(`kmodkit/core reaches ${seen.size} files`);
  t.true(seen.size > 10);
  t.deepEqual(bad, []);
});
