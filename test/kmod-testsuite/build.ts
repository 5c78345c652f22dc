/**
 * What kmod's testsuite builds before it runs, built here from the fetched
 * sources (sources.ts):
 *
 * - testsuite/module-playground's modules, with Kbuild against the Debian
 *   linux-headers the corpus fetches (slot headers-amd64, its ABI resolved
 *   at run time) plus that ABI's linux-headers-<abi>-common and the
 *   linux-kbuild-<series> it needs, unpacked from the archive (nothing is
 *   installed): `make -C <headers> M=<playground> modules`;
 * - kmod's syscall traps (testsuite/init_module.c, delete_module.c,
 *   uname.c) as LD_PRELOAD objects for the real kmod binaries, compiled with
 *   gcc against kmod 34.2's libkmod sources (kmod 30's own init_module.c
 *   loses its TC_INIT_MODULE_RETCODES list, a testsuite bug fixed later);
 *   a version script exports only the trapped functions, so the trap's
 *   private libkmod copy never interposes on the tool's own libkmod;
 * - the fixture roots, assembled by kmod's own script (34.2:
 *   scripts/setup-rootfs.sh; 30: the Makefile's copy + populate-modules.sh),
 *   with compression features matching the reference kmod's build.
 *
 * Everything is cached under testsuiteCache() and rebuilt when its inputs
 * (kmod version, headers release) change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureCorpus, ensureSuitePackages, run, which } from '../corpus/cache.js';
import { ensureKmodSource, testsuiteCache, type KmodRelease, type KmodSource } from './sources.js';

type Log = (line: string) => void;

export interface HeadersTree {
  /** Kernel release, e.g. 6.1.0-57-amd64. */
  release: string;
  /** Debian package version of the headers. */
  version: string;
  /** Directory to pass to `make -C`. */
  dir: string;
}

async function mustRun(cmd: string, args: readonly string[], what: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = (r.stderr.toString('utf8') + r.stdout.toString('utf8')).trim().split('\n').slice(-12).join('\n');
    throw new Error(`${what}: \`${cmd} ${args.join(' ')}\` exited ${r.code}\n${tail}`);
  }
  return r.stdout.toString('utf8');
}

/**
 * A buildable headers tree for the corpus's bookworm amd64 headers: the
 * corpus package (the arch part) copied, its Makefile and script links
 * pointing at the -common and linux-kbuild packages of the same ABI.
 */
export async function ensureHeadersTree(log: Log): Promise<HeadersTree> {
  const state = await ensureCorpus({ slots: ['headers-amd64'], log, compressStep: () => 0 });
  const pkg = state.packages.find((p) => p.slot === 'headers-amd64');
  if (!pkg) throw new Error('kmod-testsuite: the corpus has no headers-amd64 package');
  const release = pkg.release;
  const m = /^(\d+)\.(\d+)\.\d+-\d+/.exec(release);
  if (!m) throw new Error(`kmod-testsuite: cannot read an ABI from headers release '${release}'`);
  const abi = release.replace(/-amd64$/, '');
  const series = `${m[1]}.${m[2]}`;
  const common = `linux-headers-${abi}-common`;
  const kbuild = `linux-kbuild-${series}`;
  const set = await ensureSuitePackages(`kbuild-${abi}`, 'bookworm', 'amd64', [common, kbuild], log);
  if (set.versions[common] !== pkg.version) {
    throw new Error(`kmod-testsuite: ${common} candidate is ${set.versions[common]}, the corpus headers are ${pkg.version}`);
  }
  const base = path.join(testsuiteCache(), 'headers', `${release}_${pkg.version}`);
  const dir = path.join(base, `linux-headers-${release}`);
  if (fs.existsSync(path.join(base, 'stamp'))) return { release, version: pkg.version, dir };
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(base, { recursive: true });
  await mustRun('cp', ['-a', pkg.modulesRoot, dir], 'copying the corpus headers');
  const commonDir = path.join(set.root, 'usr/src', common);
  const kbuildDir = path.join(set.root, 'usr/lib', kbuild);
  if (!fs.existsSync(path.join(commonDir, 'Makefile')) || !fs.existsSync(path.join(kbuildDir, 'scripts'))) {
    throw new Error(`kmod-testsuite: ${commonDir}/Makefile or ${kbuildDir}/scripts missing after unpacking`);
  }
  fs.writeFileSync(path.join(dir, 'Makefile'), `include ${commonDir}/Makefile\n`);
  for (const link of ['scripts', 'tools']) {
    fs.rmSync(path.join(dir, link), { force: true });
    fs.symlinkSync(path.join(kbuildDir, link), path.join(dir, link));
  }
  // -common's own links are relative (../../lib/linux-kbuild-<series>): they resolve inside set.root.
  fs.writeFileSync(path.join(base, 'stamp'), `${pkg.package} ${pkg.version}\n${common} ${kbuild} ${set.versions[kbuild]}\n`);
  log(`kmod-testsuite: headers tree ${dir} (${pkg.package} ${pkg.version} + ${common} + ${kbuild} ${set.versions[kbuild]})`);
  return { release, version: pkg.version, dir };
}

/** Modules every playground builds (the 34.2 playground adds mod-weakdep). */
export function playgroundModules(release: KmodRelease): string[] {
  const loops = 'abcdefghijk'.split('').map((c) => `mod-loop-${c}`);
  return ['mod-simple', 'mod-foo-a', 'mod-foo-b', 'mod-foo-c', 'mod-foo', ...loops, 'mod-fake-hpsa', 'mod-fake-scsi-mod', 'mod-fake-cciss', ...(release === '34.2' ? ['mod-weakdep'] : [])];
}

/** testsuite/module-playground of `src`, built with Kbuild against `headers` (cached per kmod version and headers). */
export async function ensurePlayground(src: KmodSource, headers: HeadersTree, log: Log): Promise<string> {
  const dir = path.join(testsuiteCache(), 'playground', `${src.pin.version}_${headers.release}_${headers.version}`);
  const want = playgroundModules(src.pin.release).map((m) => `${m}.ko`);
  if (fs.existsSync(path.join(dir, 'stamp')) && want.every((f) => fs.existsSync(path.join(dir, f)))) return dir;
  for (const tool of ['make', 'gcc-12']) {
    if (!which(tool)) throw new Error(`kmod-testsuite: '${tool}' not found (scripts/setup-debian.sh installs it)`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  await mustRun('cp', ['-r', path.join(src.dir, 'testsuite/module-playground'), dir], 'copying module-playground');
  const t0 = Date.now();
  await mustRun('make', ['-C', headers.dir, `M=${dir}`, 'modules', '-j2'], `building kmod ${src.pin.release}'s module-playground`);
  const missing = want.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) throw new Error(`kmod-testsuite: module-playground built without ${missing.join(', ')}`);
  fs.writeFileSync(path.join(dir, 'stamp'), `${headers.release} ${headers.version}\n`);
  log(`kmod-testsuite: kmod ${src.pin.release} module-playground: ${want.length} modules built against ${headers.release} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

/** config.h for compiling the traps: kmod 30 tests features with #ifdef, 34.2 with #if. */
function trapConfig(release: KmodRelease): string {
  const lines = [
    '#pragma once', '#define _GNU_SOURCE 1', '#define PACKAGE "kmod"', `#define VERSION "${release}"`,
    '#define SYSCONFDIR "/etc"', '#define DISTCONFDIR "/usr/lib"', '#define MODULE_DIRECTORY "/lib/modules"', '#define KMOD_FEATURES ""',
    '#define HAVE_SECURE_GETENV 1', '#define HAVE_STRUCT_STAT_ST_MTIM 1', '#define HAVE_NORETURN 1',
    '#define HAVE_STATIC_ASSERT 1', '#define HAVE_DECL_BASENAME 1', '#define HAVE_DECL_BE32TOH 1', '#define HAVE_DECL_STRNDUPA 1',
    ...['CLZ', 'TYPES_COMPATIBLE_P', 'UADDL_OVERFLOW', 'UADDLL_OVERFLOW', 'UMULL_OVERFLOW', 'UMULLL_OVERFLOW', 'UADD_OVERFLOW', 'UMUL_OVERFLOW'].map((b) => `#define HAVE___BUILTIN_${b} 1`),
  ];
  // No ENABLE_LOGGING: the trap's private libkmod (its kmod_new() reads the configuration too) must not
  // print its own copy of the tool's libkmod messages.
  if (release !== '30') {
    for (const f of ['LOGGING', 'DEBUG', 'ELFDBG', 'XZ', 'ZLIB', 'ZSTD', 'OPENSSL', 'XZ_DLOPEN', 'ZLIB_DLOPEN', 'ZSTD_DLOPEN']) lines.push(`#define ENABLE_${f} 0`);
  }
  return lines.join('\n') + '\n';
}

export const TRAPS = ['init_module', 'delete_module', 'uname'] as const;
/** Bump when the way the traps are compiled changes. */
const TRAP_FORMAT = 2;

/** kmod's LD_PRELOAD traps of `src` (init_module.so, delete_module.so, uname.so); returns their directory. */
export async function ensureTraps(src: KmodSource, log: Log): Promise<string> {
  const dir = path.join(testsuiteCache(), 'traps', `${src.pin.version}-${TRAP_FORMAT}`);
  if (TRAPS.every((t) => fs.existsSync(path.join(dir, `${t}.so`)))) return dir;
  if (!which('gcc')) throw new Error("kmod-testsuite: 'gcc' not found (scripts/setup-debian.sh installs it)");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.h'), trapConfig(src.pin.release));
  fs.writeFileSync(path.join(dir, 'trap.map'), `{ global: ${TRAPS.join('; ')}; finit_module; syscall; local: *; };\n`);
  const lib = [
    ...fs.readdirSync(path.join(src.dir, 'libkmod')).filter((f) => /^libkmod.*\.c$/.test(f) && !/^libkmod-file-/.test(f)).map((f) => `libkmod/${f}`),
    ...fs.readdirSync(path.join(src.dir, 'shared')).filter((f) => f.endsWith('.c')).map((f) => `shared/${f}`),
  ];
  for (const t of TRAPS) {
    const out = path.join(dir, `${t}.so`);
    await mustRun('gcc', [
      '-O1', '-w', '-shared', '-fPIC', '-include', path.join(dir, 'config.h'), '-I.', '-Ilibkmod',
      '-DOVERRIDE_LIBDIR=""', '-DTESTSUITE_ROOTFS=""', '-DABS_TOP_BUILDDIR=""', '-DTOOLS_DIR=""',
      `-Wl,--version-script=${path.join(dir, 'trap.map')}`, '-o', `${out}.tmp`, `testsuite/${t}.c`, ...lib, '-ldl',
    ], `compiling kmod ${src.pin.release}'s testsuite/${t}.c`, { cwd: src.dir });
    fs.renameSync(`${out}.tmp`, out);
  }
  log(`kmod-testsuite: kmod ${src.pin.release} traps built in ${dir}`);
  return dir;
}

/**
 * The fixture roots of `src`, assembled by kmod's own scripts from
 * rootfs-pristine and the built playground; `features` is the reference
 * kmod's feature line (e.g. "+ZSTD +XZ -ZLIB"), which decides which fixture
 * modules the scripts compress.
 */
export async function ensureRootfs(src: KmodSource, playground: string, features: string, log: Log): Promise<string> {
  const key = `${src.pin.version}_${path.basename(playground)}_${features.replace(/[^A-Z+-]/g, '')}`;
  const dir = path.join(testsuiteCache(), 'rootfs', key);
  if (fs.existsSync(path.join(dir, '.stamp'))) return dir;
  const work = path.join(testsuiteCache(), 'rootfs', `.work-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'testsuite'), { recursive: true });
  const configH = path.join(work, 'config.h');
  fs.writeFileSync(configH, `#define KMOD_FEATURES "${features}"\n`);
  const pristine = path.join(src.dir, 'testsuite/rootfs-pristine');
  const out = path.join(work, 'rootfs');
  if (src.pin.release === '30') {
    // Makefile.am's CREATE_ROOTFS, then populate-modules.sh
    await mustRun('cp', ['-r', pristine, out], 'copying rootfs-pristine');
    await mustRun('find', [out, '-type', 'd', '-exec', 'chmod', '+w', '{}', ';'], 'chmod');
    await mustRun('find', [out, '-type', 'f', '-name', '.gitignore', '-exec', 'rm', '-f', '{}', ';'], 'removing .gitignore');
    await mustRun('bash', [path.join(src.dir, 'testsuite/populate-modules.sh'), playground, out, configH], 'populate-modules.sh', { cwd: work });
  } else {
    await mustRun('bash', [path.join(src.dir, 'scripts/setup-rootfs.sh'), pristine, out, playground, configH, '/etc', '/lib/modules'], 'setup-rootfs.sh', { cwd: work });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(out, dir);
  fs.writeFileSync(path.join(dir, '.stamp'), `${features}\n`);
  fs.rmSync(work, { recursive: true, force: true });
  log(`kmod-testsuite: kmod ${src.pin.release} fixture roots in ${dir} (features ${features})`);
  return dir;
}

export interface TestsuiteBuild {
  source: KmodSource;
  headers: HeadersTree;
  playground: string;
  traps: string;
  rootfs: string;
}

/** Sources, playground, traps and fixture roots of one kmod release. */
export async function ensureTestsuite(release: KmodRelease, features: string, log: Log): Promise<TestsuiteBuild> {
  const source = await ensureKmodSource(release, log);
  const headers = await ensureHeadersTree(log);
  const playground = await ensurePlayground(source, headers, log);
  // only 34.2's traps are used (for both kmod binaries; see kmod-testsuite.test.ts)
  const traps = release === '34.2' ? await ensureTraps(source, log) : '';
  const rootfs = await ensureRootfs(source, playground, features, log);
  return { source, headers, playground, traps, rootfs };
}
