#!/usr/bin/env node
/**
 * CommonJS declarations for `require('kmodkit')` and `require('kmodkit/core')`:
 * a copy of every dist/lib/**\/*.d.ts as .d.cts, relative specifiers
 * './x.js' rewritten to './x.cjs' (TypeScript then reads './x.d.cts').
 *
 * Why: kmodkit is an ES module; Node ≥ 20.19 and ≥ 22.12 require() it as it
 * is (package.json `exports` send `require` to the same .js files), but
 * TypeScript with `module: node16` in a CommonJS project refuses to import
 * declarations in ES module format (TS1479) unless the whole declaration
 * graph it reaches is CommonJS format — which these files are. Run after
 * `tsc` (package.json's build, prepare and test scripts do).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/lib');

function* declarations(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* declarations(p);
    else if (e.name.endsWith('.d.ts')) yield p;
  }
}

// from './x.js' / import('./x.js') / export * from '../y/z.js' — relative specifiers only
const RELATIVE_JS = /((?:from\s+|import\()\s*['"])(\.{1,2}\/[^'"]*?)\.js(['"])/g;

let n = 0;
for (const file of declarations(LIB)) {
  const text = readFileSync(file, 'utf8').replace(RELATIVE_JS, '$1$2.cjs$3');
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
  n++;
}
if (n === 0) {
  console.error(`cjs-types: no declarations under ${LIB} (run tsc first)`);
  process.exit(1);
}
