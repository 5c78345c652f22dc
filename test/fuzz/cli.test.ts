/**
 * The CLI on a directory of a few hundred mutated module files: every
 * command must report each bad file in one clear stderr line (no stack
 * trace, no "internal error"), carry on with the others (the good files at
 * the end of the list still get their output) and exit 1.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCompression } from '../../lib/compress/detect.js';
import { KmodkitError } from '../../lib/errors.js';
import { modinfoEntries, moduleFromBytes, type KernelModule } from '../../lib/module/module.js';
import { dumpModversionsKmod30 } from '../../lib/module/versions.js';
import { moduleExports } from '../../lib/module/exports.js';
import { decodeParams } from '../../lib/module/params.js';
import { generate } from './engine.js';
import { loadSeeds, repoRoot } from './seeds.js';

const SEED = 0xc11;
const COUNT = 300;
const EXT: Record<string, string> = { none: '.ko', gzip: '.ko.gz', xz: '.ko.xz', zstd: '.ko.zst' };
const root = repoRoot();
const cli = join(root, 'dist', 'cli', 'index.js');

interface Fixture {
  dir: string;
  bad: string[];
  good: string[];
  data: Map<string, Uint8Array>;
}

let fx: Fixture;

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-fuzz-cli-'));
  const seeds = await loadSeeds({ corpusFiles: [] });
  const data = new Map<string, Uint8Array>();
  const bad: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const input = generate(seeds, SEED, i);
    const p = join(dir, `fz${String(i).padStart(5, '0')}${EXT[detectCompression(input.data)]}`);
    writeFileSync(p, input.data);
    data.set(p, input.data);
    bad.push(p);
  }
  const good = [join(dir, 'good_hello.ko'), join(dir, 'good_params.ko.gz')];
  copyFileSync(join(root, 'samples', 'ko', 'hello.ko'), good[0]);
  copyFileSync(join(root, 'samples', 'ko', 'kmodkit_params.ko.gz'), good[1]);
  for (const g of good) data.set(g, new Uint8Array(readFileSync(g)));
  fx = { dir, bad, good, data };
});

test.after.always(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

/** Which of the files the library rejects for an operation (KmodkitError). */
async function failing(files: readonly string[], op: (m: KernelModule) => unknown): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of files) {
    try {
      op(await moduleFromBytes(fx.data.get(f)!));
    } catch (e) {
      if (!(e instanceof KmodkitError)) throw e;
      out.add(f);
    }
  }
  return out;
}

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', maxBuffer: 512 * 1024 * 1024, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l !== '') };
}

const STACK = /^\s+at |internal error|\n\s+at /;
const mods = () => [...fx.bad, ...fx.good];
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko(\..*)?$/, '');

test('modinfo: one error line per bad file, output for the good ones, exit 1', async (t) => {
  const files = mods();
  const expected = await failing(files, (m) => modinfoEntries(m, { signature: true }));
  t.true(expected.size > 50, `only ${expected.size} bad files`);
  const r = run(['modinfo', ...files]);
  t.is(r.status, 1);
  for (const l of r.lines) {
    t.false(STACK.test(l), l);
    t.regex(l, /^modinfo: ERROR: (could not get modinfo from '[^']+': .+|Found invalid ".*": missing ':')$/s);
  }
  const errs = r.lines.filter((l) => l.includes('could not get modinfo'));
  t.is(errs.length, expected.size, 'one line per bad file');
  for (const f of expected) t.true(errs.some((l) => l.includes(`'${base(f)}'`)), `no error line for ${f}`);
  for (const g of fx.good) t.true(r.stdout.includes(`filename:       ${g}\n`), `no output for ${g}`);
  t.regex(r.stdout, /description: +kmodkit sample: module parameters/);
});

for (const [cmd, args, op] of [
  ['versions', ['versions'], (m: KernelModule) => dumpModversionsKmod30(m.elf)],
  ['symbols', ['symbols', '--exports'], (m: KernelModule) => moduleExports(m.elf)],
  ['params', ['params'], (m: KernelModule) => decodeParams(m)],
  ['inspect', ['inspect'], () => undefined],
] as const) {
  test(`${cmd}: one error line per bad file, output for the good ones, exit 1`, async (t) => {
    const files = mods();
    const expected = await failing(files, op);
    t.true(expected.size > 30, `only ${expected.size} bad files`);
    const r = run([...args, ...files]);
    t.is(r.status, 1, r.stderr.slice(0, 2000));
    for (const l of r.lines) {
      t.false(STACK.test(l), l);
      // "kmodkit: FILE: message", "kmodkit: could not ... FILE: message", or for versions kmod's
      // modprobe --dump-modversions wording "kmodkit versions: could not get modversions of FILE: message"
      t.regex(l, cmd === 'versions' ? /^kmodkit versions: could not get modversions of .*\/\S+: \S.*$/ : /^kmodkit: .*\/\S+: \S.*$/);
    }
    t.is(r.lines.length, expected.size, 'one line per bad file');
    for (const f of expected) t.true(r.lines.some((l) => l.includes(`${f}: `)), `no error line for ${f}`);
    for (const g of fx.good) {
      if (cmd === 'versions') t.true(r.stdout.includes(Buffer.from(dumpModversionsKmod30((await moduleFromBytes(fx.data.get(g)!)).elf)).toString('latin1')));
      else t.true(r.stdout.includes(g), `no output for ${g}`);
    }
  });
}

test('check: a report entry for every file (malformed ones as findings), no stack trace, exit 1', async (t) => {
  const files = mods();
  const r = spawnSync(process.execPath, [cli, 'check', '--kernel-release', '6.1.0-56-amd64', '--arch', 'x86_64', '--no-sig-enforce', '--format', 'json', ...files], {
    encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 300_000,
  });
  t.is(r.status, 1, r.stderr.slice(0, 2000));
  t.false(STACK.test(r.stderr), r.stderr.slice(0, 2000));
  const report = JSON.parse(r.stdout) as { results: { file: string; findings?: { id: string }[] }[] };
  const seen = new Set(report.results.map((x) => x.file));
  for (const f of files) t.true(seen.has(f), `no result for ${f}`);
  const unreadable = await failing(files, () => undefined);
  for (const res of report.results) {
    if (unreadable.has(res.file)) t.true(res.findings?.some((f) => f.id === 'module.malformed') ?? false, res.file);
  }
});
