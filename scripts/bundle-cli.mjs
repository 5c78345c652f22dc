// The `kmodkit` command as users run it (package.json "bin"): the compiled
// CLI (dist/cli, tsc's output) bundled with esbuild into CommonJS files, one
// per command, so that starting a command loads two files instead of some
// thirty ES modules, and parses only that command's code:
//
//   dist/bundle/kmodkit.cjs             the dispatcher (cli/index.ts)
//   dist/bundle/commands/<name>.cjs     one command and all of lib/ it uses
//   dist/bundle/commands/modinfo-worker.cjs
//
// The dispatcher's import('./commands/X.js') become require('./commands/X.cjs');
// every other dynamic import (decoders, index readers, JSON writers, help) is
// bundled but still runs only when reached. Dependencies (koffi, fflate, fzstd,
// xz-decompress, cli-progress) stay in node_modules. Paths made from
// import.meta.url keep working: the bundle's folders have dist/cli's depth.
//
//   node scripts/bundle-cli.mjs [--outdir DIR]   (default dist/bundle; run after tsc)
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outdir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : join(root, 'dist/bundle');
const cliDir = join(root, 'dist/cli');
try {
  statSync(join(cliDir, 'index.js'));
} catch {
  console.error('bundle-cli: dist/cli/index.js is missing: run `npx tsc -p tsconfig.json` first');
  process.exit(2);
}

/** Each command's module and modinfo's worker: every .js in dist/cli/commands but the help tables and modinfo-parallel (part of modinfo's). */
const commands = readdirSync(join(cliDir, 'commands')).filter((f) => f.endsWith('.js') && !f.endsWith('-help.js') && f !== 'modinfo-parallel.js');

/** The dispatcher's import('./commands/X.js') as an external require of the command's own bundle. */
const commandsExternal = {
  name: 'commands-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/.*\.js$/ }, (a) => {
      if (a.importer !== join(cliDir, 'index.js')) return undefined;
      return { path: a.path.replace(/\.js$/, '.cjs'), external: true };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import() becomes require() (CommonJS loads without the ES module loader); externals too
  supported: { 'dynamic-import': false },
  external: ['koffi', 'fflate', 'fzstd', 'xz-decompress', 'cli-progress'],
  define: { 'import.meta.url': '__kmodkit_bundle_url' },
  banner: { js: "const __kmodkit_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  outExtension: { '.js': '.cjs' },
  logLevel: 'warning',
  legalComments: 'none',
};

rmSync(outdir, { recursive: true, force: true });
await build({ ...common, entryPoints: { kmodkit: join(cliDir, 'index.js') }, outdir, plugins: [commandsExternal] });
await build({ ...common, entryPoints: commands.map((f) => join(cliDir, 'commands', f)), outdir: join(outdir, 'commands') });
console.log(`bundle-cli: ${relative(root, outdir)}/kmodkit.cjs and ${commands.length} command bundles`);
