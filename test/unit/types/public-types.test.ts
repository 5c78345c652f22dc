/**
 * Every type a public signature uses is exported: for each entry point in
 * package.json's `exports` (kmodkit, kmodkit/core, kmodkit/testing …), the
 * built declarations (dist/lib/*.d.ts) are read with the TypeScript compiler
 * API, and every named type reachable from an exported function, class,
 * interface, type or constant — parameters, results, properties, public
 * members, base types, type arguments — that is declared in kmodkit itself
 * must be exported, so a user can name it (`PlannedModule`, `CloseResult`,
 * `ForceOption`, `KmodTool` …): from kmodkit/core itself for kmodkit/core
 * (it is all a browser gets), from the entry point or from `kmodkit` for the
 * others. Private class members and type parameters do not count; types
 * from Node or the language do not either.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../../../..');
const DIST_LIB = join(ROOT, 'dist/lib') + '/';

interface ExportTarget { types?: string }
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, ExportTarget | string> };
const entries = Object.entries(pkg.exports)
  .filter((e): e is [string, ExportTarget & { types: string }] => typeof e[1] === 'object' && typeof e[1].types === 'string')
  .map(([subpath, target]) => ({ name: subpath === '.' ? 'kmodkit' : `kmodkit/${subpath.replace(/^\.\//, '')}`, file: join(ROOT, target.types) }));

const program = ts.createProgram(entries.map((e) => e.file), {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules/@types')],
});
const checker = program.getTypeChecker();

function resolveAlias(s: ts.Symbol): ts.Symbol {
  return s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

function ours(s: ts.Symbol): boolean {
  return (s.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(DIST_LIB));
}

function isHidden(n: ts.Node): boolean {
  if ((ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n) || ts.isPropertySignature(n)) && n.name && ts.isPrivateIdentifier(n.name)) return true;
  const mods = ts.canHaveModifiers(n) ? ts.getModifiers(n) ?? [] : [];
  return mods.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

function exportsOf(entryFile: string): ts.Symbol[] {
  const sf = program.getSourceFile(entryFile);
  if (!sf) throw new Error(`${entryFile} not found`);
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) throw new Error(`${entryFile} is not a module`);
  return checker.getExportsOfModule(moduleSymbol).map(resolveAlias);
}

/**
 * Named kmodkit types an entry point's exports use without either exporting
 * them (`available`: the entry's own exports plus those of the entry points
 * it may rely on): type → where it is used.
 */
function unexported(entryFile: string, alsoFrom: readonly string[] = []): { missing: Map<string, Set<string>>; walked: number } {
  const own = exportsOf(entryFile);
  const exported = new Set([...own, ...alsoFrom.flatMap(exportsOf)]);
  const missing = new Map<string, Set<string>>();
  const seen = new Set<ts.Symbol>();
  // exported declarations first; a type found missing is walked too, so one run reports them all
  const queue: ts.Symbol[] = [...own];
  const consider = (s: ts.Symbol | undefined, where: string): void => {
    if (!s) return;
    s = resolveAlias(s);
    if (s.flags & ts.SymbolFlags.TypeParameter || !ours(s) || exported.has(s)) return;
    if (!(s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum))) return;
    const set = missing.get(s.name) ?? new Set<string>();
    set.add(where);
    missing.set(s.name, set);
    queue.push(s);
  };
  const walk = (n: ts.Node, where: string): void => {
    if (isHidden(n)) return;
    if (ts.isTypeReferenceNode(n)) consider(checker.getSymbolAtLocation(n.typeName), where);
    else if (ts.isExpressionWithTypeArguments(n)) consider(checker.getSymbolAtLocation(n.expression), where);
    else if (ts.isImportTypeNode(n)) {
      const t = checker.getTypeFromTypeNode(n);
      consider(t.aliasSymbol ?? t.getSymbol(), where);
    }
    ts.forEachChild(n, (c) => walk(c, where));
  };
  for (let s = queue.shift(); s; s = queue.shift()) {
    if (seen.has(s) || !ours(s)) continue;
    seen.add(s);
    for (const d of s.declarations ?? []) if (d.getSourceFile().fileName.startsWith(DIST_LIB)) walk(d, s.name);
  }
  return { missing, walked: seen.size };
}

/**
 * Types known to be unexported, with the reason; reported, not failed. An
 * entry that is no longer reported fails the test, so it gets removed.
 */
const KNOWN: Record<string, string> = {
  KmodkitErrorImpl: 'the runtime class behind KmodkitError (lib/errors.ts): renamed by the layers work (issue 29: stack traces say KmodkitErrorImpl)',
  OptionsFor: "KmodkitError's constructor options tuple (lib/errors.ts, layers work)",
};

const root = entries.find((e) => e.name === 'kmodkit');

for (const entry of entries) {
  test(`${entry.name}: every kmodkit type in a public signature is exported`, (t) => {
    const alsoFrom = entry.name === 'kmodkit' || entry.name === 'kmodkit/core' || !root ? [] : [root.file];
    const { missing, walked } = unexported(entry.file, alsoFrom);
    t.log(`${walked} declarations walked${alsoFrom.length ? ' (types exported by kmodkit count)' : ''}`);
    t.true(walked > 3, 'the walk found the exports');
    for (const [name, why] of Object.entries(KNOWN)) {
      if (!missing.has(name)) continue;
      t.log(`known: ${name} — ${why}`);
      missing.delete(name);
    }
    const report = [...missing].map(([name, where]) => `${name} (used by ${[...where].sort().join(', ')})`).sort();
    t.deepEqual(report, []);
  });
}

test('the known exceptions are still unexported (remove them when they are not)', (t) => {
  const { missing } = unexported(root!.file);
  for (const name of Object.keys(KNOWN)) t.true(missing.has(name), `${name} is exported or no longer used: remove it from KNOWN`);
});

test('the walk reports a type that is used and not exported, and not one that is', (t) => {
  // kmodkit/core alone does not export ModuleSet's PlannedModule; the root does
  const core = entries.find((e) => e.name === 'kmodkit/core')!;
  const testing = entries.find((e) => e.name === 'kmodkit/testing');
  t.truthy(testing, 'kmodkit/testing is an entry point');
  const withoutRoot = unexported(testing!.file);
  t.true(withoutRoot.missing.has('TargetArch'), 'TargetKernel (re-exported by kmodkit/testing) uses TargetArch, which only kmodkit exports');
  t.false(unexported(core.file).missing.has('KernelModule'), 'an exported type is not reported');
});
