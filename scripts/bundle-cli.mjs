// The `kmodkit` command as users run it (package.json "bin"): the compiled
// CLI (dist/cli, tsc's output) bundled with esbuild into CommonJS files, one
// per command, so that starting a command loads two files instead of some
// thirty ES modules, and parses only that command's code:
//
//   dist/bundle/kmodkit.cjs             the dispatcher (cli/index.ts)
//   dist/bundle/commands/<name>.cjs     one command and all of lib/ it uses
//   dist/bundle/commands/modinfo-worker.cjs
//   dist/lib/io/check-worker.cjs        the library's worker threads (check, depmod),
//   dist/lib/io/depmod-worker.cjs       beside their compiled ES modules, where a
//                                       bundle's lib/io/*.cjs names them (workerScript)
//
// The dispatcher's import('./commands/X.js') become require('./commands/X.cjs');
// every other dynamic import (decoders, index readers, JSON writers, help) is
// bundled but still runs only when reached. Dependencies (koffi, fflate, fzstd,
// xz-decompress, cli-progress, @noble/post-quantum) stay in node_modules.
// Paths made from import.meta.url keep working: each compiled file's
// import.meta.url becomes the URL it would have beside its bundle (the bundle's
// folders have dist/cli's depth): cli/version.js in a command bundle still
// finds ../../package.json, modinfo-parallel.js its worker's .cjs.
//
//   node scripts/bundle-cli.mjs [--outdir DIR]   (default dist/bundle; run after tsc)
//
// bin/kmodkit.cjs (package.json "bin") runs dist/bundle/kmodkit.cjs where it
// exists, else dist/cli/index.js: a missing bundle costs start-up, never the command.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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

/**
 * The dispatcher's import('./commands/X.js') (cli/index.ts, and cli/registry.ts
 * for --help and completion) as an external require of the command's own bundle.
 */
const commandsExternal = {
  name: 'commands-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/.*\.js$/ }, (a) => {
      if (dirname(a.importer) !== cliDir || !commands.includes(a.path.slice('./commands/'.length))) return undefined;
      return { path: a.path.replace(/\.js$/, '.cjs'), external: true };
    });
  },
};

/**
 * import.meta.url of each compiled file → the URL the file would have in the
 * bundle's layout: `fromDir` (the compiled folder the bundle stands for) is to
 * the bundle's folder what the file's folder is to its place there, with .cjs.
 */
function metaUrl(fromDir) {
  return {
    name: 'import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (a) => {
        if (a.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(a.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(fromDir, a.path).replace(/\.js$/, '.cjs');
        return { contents: text.replaceAll('import.meta.url', `__kmodkit_url(${JSON.stringify(rel)})`), loader: 'js', resolveDir: dirname(a.path) };
      });
    },
  };
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import() becomes require() (CommonJS loads without the ES module loader); externals too
  supported: { 'dynamic-import': false },
  external: ['koffi', 'fflate', 'fzstd', 'xz-decompress', 'cli-progress', '@noble/post-quantum'],
  banner: { js: "const __kmodkit_url = (p) => require('node:url').pathToFileURL(require('node:path').join(__dirname, p)).href;" },
  outExtension: { '.js': '.cjs' },
  logLevel: 'warning',
  legalComments: 'none',
};

rmSync(outdir, { recursive: true, force: true });
await build({ ...common, entryPoints: { kmodkit: join(cliDir, 'index.js') }, outdir, plugins: [commandsExternal, metaUrl(cliDir)] });
await build({ ...common, entryPoints: commands.map((f) => join(cliDir, 'commands', f)), outdir: join(outdir, 'commands'), plugins: [metaUrl(join(cliDir, 'commands'))] });
// The library's worker scripts, each one file: a bundled command starts them as
// lib/io/X.cjs (workerScript() takes the starting module's extension), so a
// worker thread loads one file too, not the ES modules behind it.
// Written by the default build only: a bundle built elsewhere (--outdir, at
// dist/bundle's depth) starts these same files, and a test building one
// must not rewrite them under other tests' running commands.
const libIo = join(root, 'dist/lib/io');
const libWorkers = ['check-worker', 'depmod-worker'];
if (!args.includes('--outdir')) await build({ ...common, entryPoints: libWorkers.map((w) => join(libIo, `${w}.js`)), outdir: libIo, plugins: [metaUrl(libIo)] });
console.log(`bundle-cli: ${relative(root, outdir)}/kmodkit.cjs and ${commands.length} command bundles${args.includes('--outdir') ? '' : `; dist/lib/io/{${libWorkers.join(',')}}.cjs`}`);
