/**
 * What a testsuite case expects (kmod's own verdict, testsuite.c's
 * test_run_parent) and how two runs compare.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestsuiteCase } from './cases.js';
import type { CaseRun } from './sandbox.js';

/** Lines kmod's LD_PRELOAD traps print themselves (testsuite.h's LOG), not the tool. */
function toolStdout(s: string): string {
  return s.split('\n').filter((l) => !l.startsWith('TESTSUITE: ')).join('\n');
}

/** kmod's module-name comparison for loaded-module lists ('-' and '_' alike). */
function modKey(n: string): string {
  return n.replace(/-/g, '_');
}

/** Every way `r` misses what `c` expects; [] when it passes (rootfs: the assembled fixture roots, for expected files). */
export function expectationFailures(c: TestsuiteCase, r: CaseRun, rootfs: string): string[] {
  const out: string[] = [];
  const read = (rel: string): string | null => {
    try {
      return fs.readFileSync(path.join(rootfs, rel), 'latin1');
    } catch {
      return null;
    }
  };
  const stdout = toolStdout(r.stdout);
  if (c.expectedFail ? r.code === 0 : r.code !== 0) out.push(`exit ${r.code}, expected ${c.expectedFail ? 'a failure (expected_fail)' : '0'}`);
  const text = (what: string, got: string, want: string | null, regex = false): void => {
    if (want === null) {
      out.push(`${what}: expected file missing`);
      return;
    }
    if (!regex) {
      // testsuite.c's fd_cmp_exact compares each chunk read with as many bytes of the file: the output
      // must be a prefix of the file (kmod's correct-license.txt ends in one more newline than modinfo prints)
      if (got === '' ? want !== '' : !want.startsWith(got)) out.push(`${what} differs:\n${firstDifference(want, got)}`);
      return;
    }
    const g = got.split('\n');
    const w = want.split('\n');
    if (g.length !== w.length) out.push(`${what}: ${g.length - 1} lines, the pattern file has ${w.length - 1}`);
    for (let i = 0; i < Math.min(g.length, w.length); i++) {
      if (w[i] === '' && g[i] === '') continue;
      if (!new RegExp(w[i]).test(g[i])) out.push(`${what} line ${i + 1} '${g[i]}' does not match /${w[i]}/`);
    }
  };
  if (c.out) text('stdout', stdout, read(c.out), c.regex);
  if (c.stdout !== undefined) text('stdout', stdout, c.stdout);
  if (c.err) text('stderr', r.stderr, read(c.err), c.regex);
  (c.files ?? []).forEach(([expected], i) => {
    const got = r.files[i];
    if (got === null) out.push(`${c.files![i][1]} was not written`);
    else text(c.files![i][1], got, read(path.join(c.root, expected)));
  });
  const loaded = r.loaded.map(modKey).sort();
  if (c.modulesLoaded !== undefined) {
    const want = c.modulesLoaded.split(',').filter(Boolean).map(modKey).sort();
    if (want.join(',') !== loaded.join(',')) out.push(`loaded modules ${loaded.join(',') || '(none)'}, expected ${want.join(',') || '(none)'}`);
  }
  if (c.modulesNotLoaded !== undefined) {
    const bad = c.modulesNotLoaded.split(',').filter(Boolean).map(modKey).filter((m) => loaded.includes(m));
    if (bad.length) out.push(`loaded, but must not be: ${bad.join(',')}`);
  }
  return out;
}

/** The first differing line of two texts, both shown. */
export function firstDifference(want: string, got: string): string {
  const w = want.split('\n');
  const g = got.split('\n');
  for (let i = 0; i < Math.max(w.length, g.length); i++) {
    if (w[i] !== g[i]) return `    line ${i + 1}: expected ${JSON.stringify(w[i] ?? '(end)')}\n    line ${i + 1}:      got ${JSON.stringify(g[i] ?? '(end)')}`;
  }
  return '    (identical)';
}

/** How `b` differs from `a` (stdout, stderr, exit code, modules loaded, generated files); [] when it does not. */
export function runDifferences(a: CaseRun, b: CaseRun): string[] {
  const out: string[] = [];
  const sa = toolStdout(a.stdout);
  const sb = toolStdout(b.stdout);
  if (sa !== sb) out.push(`stdout:\n${firstDifference(sa, sb)}`);
  if (a.stderr !== b.stderr) out.push(`stderr:\n${firstDifference(a.stderr, b.stderr)}`);
  if (a.code !== b.code) out.push(`exit ${b.code}, ${a.impl} ${a.code}`);
  if (a.loaded.join(',') !== b.loaded.join(',')) out.push(`/sys/module: ${b.loaded.join(',') || '(none)'}, ${a.impl}: ${a.loaded.join(',') || '(none)'}`);
  a.files.forEach((f, i) => {
    if (f !== b.files[i]) out.push(`generated file #${i + 1}:\n${firstDifference(f ?? '(missing)', b.files[i] ?? '(missing)')}`);
  });
  return out;
}
