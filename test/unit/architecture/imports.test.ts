/**
 * docs/architecture.md, enforced. The layer table is read from the document
 * itself (its "Layers" table, first row lowest), so the text and the check
 * cannot drift apart:
 * - a file may import only from its own folder or from a lower layer; folders
 *   in the same row are independent of each other. Every import counts:
 *   `import type`, `export … from`, dynamic `import()` and `declare module`
 *   (a type-only import is still a dependency a reader has to follow);
 * - no import circle, file by file (type-only imports included);
 * - only lib/io touches the file system and the running system; FFI (koffi)
 *   only in lib/io/native and lib/load/syscalls.ts; the pure layers use no
 *   Node built-in except node:crypto (and node:module, to load ML-DSA on
 *   first use) in the two files named below;
 * - kmodkit/core and the web page reach no Node built-in, lib/io or lib/load
 *   at run time (core: the compiled JavaScript's imports, exactly).
 * It reads the TypeScript sources, so a moved import fails here first.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const DIST = join(ROOT, 'dist');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.[cm]?[jt]s$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (f: string): string => relative(ROOT, f);

interface Import {
  readonly spec: string;
  /** Erased at compile time: `import type`, `export type`, every named binding `type`, `declare module`. */
  readonly typeOnly: boolean;
}

/** Every module a file imports: static, re-exported, dynamic, or augmented; comments and strings in them are ignored. */
function imports(file: string): Import[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Import[] = [];
  // import … from 'x' / export … from 'x' (the clause may span lines), import 'x'
  const clause = String.raw`\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?`;
  for (const m of text.matchAll(new RegExp(String.raw`^\s*(import|export)\s+(type\s+)?(${clause})\s*from\s*['"]([^'"]+)['"]`, 'gm'))) {
    const named = /^\{([\s\S]*)\}$/.exec(m[3]!.trim());
    const allTypes = named !== null && named[1]!.split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '));
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined || allTypes });
  }
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    // `typeof import('x')` is a type; any other import() runs
    out.push({ spec: m[1]!, typeOnly: /\btypeof\s*$/.test(text.slice(Math.max(0, m.index! - 8), m.index)) });
  }
  for (const m of text.matchAll(/^\s*declare\s+module\s+['"](\.[^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: true });
  return out;
}

/** A relative specifier as the file it names (.js → .ts source), or null for a package or built-in. */
function target(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const p = resolve(dirname(file), spec);
  if (file.startsWith(DIST)) return p;
  return p.replace(/\.js$/, '.ts');
}

// ---------------------------------------------------------------------------
// The layer table, from docs/architecture.md
// ---------------------------------------------------------------------------

/** Rows of the "Layers" table: the folders (or files) in backquotes, lowest row first. */
function layerTable(): string[][] {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = /^## Layers\n([\s\S]*?)(?=^## )/m.exec(doc);
  if (!section) throw new Error('docs/architecture.md has no "## Layers" section');
  const rows: string[][] = [];
  for (const line of section[1]!.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !/^\d+$/.test(cells[1]!)) continue;
    rows.push([...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  return rows;
}

const LAYERS = layerTable();
const RANK = new Map<string, number>(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as [string, number])));

/** The table entry a source file belongs to: the file itself, else the longest folder, else `lib/*.ts` for lib's own files. */
function unitOf(file: string): string | undefined {
  const r = rel(file);
  if (RANK.has(r)) return r;
  let best: string | undefined;
  for (const u of RANK.keys()) if (!u.includes('*') && r.startsWith(`${u}/`) && (!best || u.length > best.length)) best = u;
  if (best) return best;
  if (/^lib\/[^/]+\.ts$/.test(r) && RANK.has('lib/*.ts')) return 'lib/*.ts';
  return undefined;
}

const files = ['lib', 'cli', 'web/src'].flatMap((d) => sources(join(ROOT, d)).filter((f) => f.endsWith('.ts')));
const graph = new Map<string, { to: string; typeOnly: boolean; spec: string }[]>();
for (const f of files) {
  graph.set(f, imports(f).map((i) => ({ ...i, to: target(f, i.spec) ?? i.spec })));
}

test('the layer table of docs/architecture.md is read and places every source file', (t) => {
  t.true(LAYERS.length >= 10, `${LAYERS.length} rows read`);
  t.is(RANK.get('lib/bytes'), 1, 'lib/bytes is the row above the base');
  t.true(RANK.get('lib/io')! > RANK.get('lib/core.ts')!, 'lib/io sits above kmodkit/core');
  const unplaced = files.filter((f) => unitOf(f) === undefined).map(rel);
  t.deepEqual(unplaced, [], 'a new folder needs its row in docs/architecture.md');
  t.log(`${files.length} files in ${LAYERS.length} layers: ${LAYERS.map((u) => u.join(' ')).join(' < ')}`);
});

test('every import goes down the layers (type-only imports included)', (t) => {
  const bad: string[] = [];
  let edges = 0;
  let typeEdges = 0;
  for (const [f, deps] of graph) {
    const from = unitOf(f)!;
    for (const d of deps) {
      if (!d.to.startsWith(ROOT)) continue;
      edges++;
      if (d.typeOnly) typeEdges++;
      const to = unitOf(d.to);
      if (to === undefined) {
        bad.push(`${rel(f)} imports ${rel(d.to)}, which is in no layer`);
        continue;
      }
      if (to === from) continue;
      const [a, b] = [RANK.get(from)!, RANK.get(to)!];
      if (b > a) bad.push(`${rel(f)} (${from}, row ${a}) imports ${rel(d.to)} (${to}, row ${b}): a higher layer${d.typeOnly ? ' (type only)' : ''}`);
      else if (b === a) bad.push(`${rel(f)} (${from}) imports ${rel(d.to)} (${to}): folders in one row are independent${d.typeOnly ? ' (type only)' : ''}`);
    }
  }
  t.log(`${edges} imports between source files, ${typeEdges} of them type-only`);
  t.true(typeEdges > 0, 'type-only imports are counted');
  t.deepEqual(bad, []);
});

/** Strongly connected components of more than one file, and files importing themselves (Tarjan). */
function circles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.map(rel).sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('circles() finds a circle, including one made of type-only imports', (t) => {
  const g = new Map([['/a', ['/b']], ['/b', ['/c']], ['/c', ['/a']], ['/d', ['/a']]]);
  t.is(circles(g).length, 1);
  t.is(circles(new Map([['/a', ['/b']], ['/b', []]])).length, 0);
});

test('no import circle between files (type-only imports included)', (t) => {
  const g = new Map([...graph].map(([f, deps]) => [f, deps.map((d) => d.to)] as const));
  t.deepEqual(circles(g), []);
});

// ---------------------------------------------------------------------------
// What each kind of layer may use
// ---------------------------------------------------------------------------

const SYSTEM = /^(node:)?(fs|fs\/promises|child_process|os)$/;
/** Files of the pure layers that wrap node:crypto (Node's verifier and signer; the verifier also loads @noble/post-quantum on first use through node:module); kmodkit/core does not reach them at run time. */
const NODE_CRYPTO = new Set(['lib/check/signature-verify.ts', 'lib/prepare/sign-key.ts']);
/** FFI: koffi's users. */
const FFI = (r: string): boolean => r === 'lib/load/syscalls.ts' || r.startsWith('lib/io/native/');

/** node:os imported for its constants table only (errno numbers), not the running system. */
function constantsOnly(file: string): boolean {
  const m = /import\s*\{([^}]*)\}\s*from\s*['"](?:node:)?os['"]/.exec(readFileSync(file, 'utf8'));
  return m !== null && m[1]!.split(',').every((n) => /^\s*constants(\s+as\s+\w+)?\s*$/.test(n));
}

test('only lib/io imports node:fs, node:child_process or node:os (lib/load: its errno constants)', (t) => {
  const bad: string[] = [];
  for (const [f, deps] of graph) {
    const r = rel(f);
    if (!r.startsWith('lib/') || r.startsWith('lib/io/')) continue;
    for (const d of deps) if (SYSTEM.test(d.spec) && !d.typeOnly && !(/^(node:)?os$/.test(d.spec) && constantsOnly(f))) bad.push(`${r} imports ${d.spec}`);
  }
  t.deepEqual(bad, []);
});

test('the pure layers import no Node built-in (node:crypto: two named files) and no koffi', (t) => {
  const pureTop = RANK.get('lib/core.ts')!;
  const bad: string[] = [];
  let checked = 0;
  for (const [f, deps] of graph) {
    const r = rel(f);
    if (!r.startsWith('lib/') || RANK.get(unitOf(f)!)! > pureTop) continue;
    checked++;
    for (const d of deps) {
      if (d.spec === 'koffi') bad.push(`${r} imports koffi`);
      else if (d.spec.startsWith('node:') && !((d.spec === 'node:crypto' || d.spec === 'node:module') && NODE_CRYPTO.has(r))) bad.push(`${r} imports ${d.spec}`);
    }
  }
  t.true(checked > 50, `${checked} files of the pure layers`);
  t.deepEqual(bad, []);
});

test('koffi is imported only by lib/load/syscalls.ts and lib/io/native/', (t) => {
  const users = [...graph].filter(([, deps]) => deps.some((d) => d.spec === 'koffi')).map(([f]) => rel(f));
  t.true(users.length > 0, 'the check would be vacuous if nothing imported koffi');
  t.deepEqual(users.filter((r) => !FFI(r)), []);
});

// ---------------------------------------------------------------------------
// What runs in a browser
// ---------------------------------------------------------------------------

const FORBIDDEN_AT_RUN_TIME = /^(lib\/io\/|lib\/load\/|lib\/index\.[jt]s$)/;

/** Files reached from `entries` through imports that stay at run time, and the forbidden ones among them. */
function runtimeReach(entries: string[], base: string): { seen: Set<string>; bad: string[] } {
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of imports(file)) {
      if (i.typeOnly) continue;
      if (i.spec.startsWith('node:') || SYSTEM.test(i.spec) || i.spec === 'koffi') {
        bad.push(`${relative(base, file)} imports ${i.spec}`);
        continue;
      }
      const to = target(file, i.spec);
      if (to === null) continue;
      const r = relative(base, to);
      if (FORBIDDEN_AT_RUN_TIME.test(r)) bad.push(`${relative(base, file)} imports ${r}`);
      else visit(to);
    }
  };
  for (const e of entries) visit(e);
  return { seen, bad };
}

test('kmodkit/core reaches no Node built-in, lib/io or lib/load at run time (the compiled imports)', (t) => {
  const entry = join(DIST, 'lib/core.js');
  t.true(existsSync(entry), 'dist/lib/core.js is built');
  const { seen, bad } = runtimeReach([entry], DIST);
  t.log(`kmodkit/core loads ${seen.size} files`);
  t.true(seen.size > 10);
  t.deepEqual(bad, []);
});

test('the web page reaches no Node built-in, lib/io or lib/load (its sources; type-only imports are erased)', (t) => {
  const entries = sources(join(ROOT, 'web/src')).filter((f) => f.endsWith('.ts'));
  const { seen, bad } = runtimeReach(entries, ROOT);
  t.log(`the page's sources reach ${seen.size} files`);
  t.true(seen.size > 20);
  t.deepEqual(bad, []);
});
