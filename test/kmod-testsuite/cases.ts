/**
 * kmod's testsuite cases, as tool invocations. Each entry is one DEFINE_TEST
 * of the pinned sources (sources.ts), read off testsuite/test-*.c of that
 * release: the program and its arguments, the fixture root, the traps it
 * configures (TC_UNAME_R, TC_INIT_MODULE_RETCODES,
 * TC_DELETE_MODULE_RETCODES; TC_ROOTFS becomes the chroot) and what the
 * test checks (stdout/stderr files, generated files, loaded modules,
 * expected_fail).
 *
 * kmod's library tests whose behaviour a tool reaches are translated to that
 * tool (`translated` says how); the rest are listed in LEFT_OUT with the
 * reason. casesFor() checks the table against the test names found in the
 * fetched sources, so a test that is neither run nor explained fails the tier.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KmodRelease } from './sources.js';

export type Tool = 'modprobe' | 'modinfo' | 'depmod' | 'insmod' | 'rmmod' | 'lsmod';

export interface TestsuiteCase {
  /** kmod's test name; `#n` tells apart kmod 30's two tests named test_load_resources. */
  name: string;
  /** testsuite/test-*.c it comes from ('extra' for cases added here). */
  file: string;
  tool: Tool;
  args: readonly string[];
  /** Fixture root, relative to the assembled rootfs directory. */
  root: string;
  uname?: string;
  /** TC_INIT_MODULE_RETCODES ('' = trap every load, succeed). Absent: loads reach the real syscall (which fails here). */
  initRetcodes?: string;
  deleteRetcodes?: string;
  /** Working directory inside the root. */
  cwd?: string;
  /** Extra environment; the value '@modprobe' stands for the tool under test (kmod's TOOLS_DIR/modprobe). */
  env?: Readonly<Record<string, string>>;
  /** Expected stdout / stderr files (relative to the rootfs directory); `regex`: each line an ERE for the output's line. */
  out?: string;
  err?: string;
  regex?: boolean;
  /** Expected stdout given inline (translated library tests). */
  stdout?: string;
  /** [expected file, generated file] pairs, relative to the case root. */
  files?: readonly (readonly [string, string])[];
  /** Comma-separated modules that must be (exactly) loaded afterwards; '' = none. */
  modulesLoaded?: string;
  modulesNotLoaded?: string;
  /** kmod's own `.expected_fail`: the tool exits non-zero (and the outputs still match). */
  expectedFail?: boolean;
  /** A library test run through a tool: how. */
  translated?: string;
  /** A known kmod failure (named): the case's expected result is not what kmod does. */
  knownFailure?: string;
}

const kcmdline = (n: string, loaded?: string): TestsuiteCase => ({
  name: `modprobe_param_kcmdline${n}`, file: 'test-modprobe.c', tool: 'modprobe', args: ['-c'], root: `test-modprobe/module-param-kcmdline${n}`,
  uname: '4.4.4', out: `test-modprobe/module-param-kcmdline${n}/correct.txt`, ...(loaded !== undefined ? { modulesLoaded: loaded } : {}),
});

const depmodFiles = (name: string, root: string, files: [string, string][], args: string[] = []): TestsuiteCase => ({
  name, file: 'test-depmod.c', tool: 'depmod', args, root, uname: '4.4.4', files,
});

const order = (name: string, dir: string): TestsuiteCase =>
  depmodFiles(name, `test-depmod/${dir}`, [['lib/modules/4.4.4/correct-modules.dep', 'lib/modules/4.4.4/modules.dep']]);

function modinfoField(field: string, files: readonly string[], flavor = ''): TestsuiteCase {
  return {
    name: `test_modinfo_${field}`, file: 'test-modinfo.c', tool: 'modinfo', args: ['-F', field, ...files], root: 'test-modinfo',
    out: `test-modinfo/correct-${field}${flavor}.txt`,
  };
}

/** Cases both releases define alike (each reads its own fixtures). */
function common(release: KmodRelease): TestsuiteCase[] {
  const sig = ['/mod-simple-sha1.ko', '/mod-simple-sha256.ko', '/mod-simple-pkcs7.ko'];
  const generic = release === '30' ? ['/mod-simple-i386.ko', '/mod-simple-x86_64.ko', '/mod-simple-sparc64.ko'] : ['/mod-simple.ko'];
  const cases: TestsuiteCase[] = [
    // test-modprobe.c
    { name: 'modprobe_show_depends', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-depends', 'mod-loop-a'], root: 'test-modprobe/show-depends', uname: '4.4.4', out: 'test-modprobe/show-depends/correct.txt' },
    { name: 'modprobe_show_depends2', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-depends', 'mod-simple'], root: 'test-modprobe/show-depends', uname: '4.4.4', out: 'test-modprobe/show-depends/correct-mod-simple.txt' },
    { name: 'modprobe_show_alias_to_none', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-depends', '--ignore-install', '--quiet', 'mod-simple'], root: 'test-modprobe/alias-to-none', uname: '4.4.4', out: 'test-modprobe/alias-to-none/correct.txt', modulesLoaded: '' },
    { name: 'modprobe_show_exports', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-exports', '--quiet', '/mod-loop-a.ko'], root: 'test-modprobe/show-exports', out: 'test-modprobe/show-exports/correct.txt', regex: true },
    { name: 'modprobe_builtin', file: 'test-modprobe.c', tool: 'modprobe', args: ['unix'], root: 'test-modprobe/builtin', uname: '4.4.4' },
    { name: 'modprobe_builtin_lookup_only', file: 'test-modprobe.c', tool: 'modprobe', args: ['-R', 'unix'], root: 'test-modprobe/builtin', uname: '4.4.4', out: 'test-modprobe/builtin/correct.txt' },
    { name: 'modprobe_softdep_loop', file: 'test-modprobe.c', tool: 'modprobe', args: ['mod-loop-b'], root: 'test-modprobe/softdep-loop', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-loop-a,mod-loop-b' },
    { name: 'modprobe_install_cmd_loop', file: 'test-modprobe.c', tool: 'modprobe', args: ['mod-loop-a'], root: 'test-modprobe/install-cmd-loop', uname: '4.4.4', initRetcodes: '', env: { MODPROBE: '@modprobe' }, modulesLoaded: 'mod-loop-b,mod-loop-a' },
    { name: 'modprobe_param_kcmdline_show_deps', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-depends', 'mod-simple'], root: 'test-modprobe/module-param-kcmdline', uname: '4.4.4', out: 'test-modprobe/module-param-kcmdline/correct.txt', ...(release === '30' ? { modulesLoaded: '' } : {}) },
    ...['2', '3', '4', '5', '6', '7', '8'].map((n) => kcmdline(n, release === '30' || n === '5' ? '' : undefined)),
    { name: 'modprobe_force', file: 'test-modprobe.c', tool: 'modprobe', args: ['--force', 'mod-simple'], root: 'test-modprobe/force', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-simple' },
    { name: 'modprobe_oldkernel', file: 'test-modprobe.c', tool: 'modprobe', args: ['mod-simple'], root: 'test-modprobe/oldkernel', uname: '3.3.3', initRetcodes: '', modulesLoaded: 'mod-simple' },
    { name: 'modprobe_oldkernel_force', file: 'test-modprobe.c', tool: 'modprobe', args: ['--force', 'mod-simple'], root: 'test-modprobe/oldkernel-force', uname: '3.3.3', initRetcodes: '', modulesLoaded: 'mod-simple' },
    { name: 'modprobe_external', file: 'test-modprobe.c', tool: 'modprobe', args: ['mod-simple'], root: 'test-modprobe/external', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-simple' },
    // test-depmod.c
    depmodFiles('depmod_modules_order_for_compressed', 'test-depmod/modules-order-compressed', [['lib/modules/4.4.4/correct-modules.alias', 'lib/modules/4.4.4/modules.alias']]),
    order('depmod_search_order_simple', 'search-order-simple'),
    order('depmod_search_order_same_prefix', 'search-order-same-prefix'),
    { name: 'depmod_detect_loop', file: 'test-depmod.c', tool: 'depmod', args: [], root: 'test-depmod/detect-loop', uname: '4.4.4', expectedFail: true, err: 'test-depmod/detect-loop/correct.txt' },
    order('depmod_search_order_external_first', 'search-order-external-first'),
    order('depmod_search_order_external_last', 'search-order-external-last'),
    order('depmod_search_order_override', 'search-order-override'),
    // test-modinfo.c (DEFINE_MODINFO_GENERIC_TEST / DEFINE_MODINFO_SIGN_TEST; Debian builds both releases with OpenSSL)
    ...['filename', 'author', 'license', 'description', 'parm', 'depends'].map((f) => modinfoField(f, generic)),
    ...['signer', 'sig_key', 'sig_hashalgo'].map((f) => modinfoField(f, sig, '-openssl')),
    { name: 'test_modinfo_external', file: 'test-modinfo.c', tool: 'modinfo', args: ['-F', 'filename', 'mod-simple'], root: 'test-modinfo/external', uname: '4.4.4', out: 'test-modinfo/correct-external.txt' },
    // library tests run through a tool
    {
      name: 'test_insert', file: 'test-init.c', tool: 'insmod', args: ['/mod-simple.ko'], root: 'test-init', initRetcodes: 'bla:1:20', modulesLoaded: 'mod_simple',
      translated: "kmod_module_new_from_path + kmod_module_insert_module on /mod-simple.ko: insmod /mod-simple.ko",
    },
    {
      name: 'test_remove', file: 'test-init.c', tool: 'rmmod', args: ['-f', 'mod-simple', 'bla'], root: 'test-remove', deleteRetcodes: 'mod-simple:0:0:bla:-1:2', expectedFail: true,
      translated: "kmod_module_remove_module of mod-simple (0) and bla (-ENOENT): rmmod -f mod-simple bla (-f: delete_module without rmmod's loaded check, as the library call; exits 1 for bla's ENOENT)",
    },
    {
      name: 'test_initstate_from_lookup', file: 'test-initstate.c', tool: 'modprobe', args: ['--show-depends', 'fake-builtin'], root: 'test-initstate', uname: '4.4.4', stdout: 'builtin fake_builtin\n',
      translated: 'kmod_module_new_from_lookup("fake-builtin") is built in: modprobe --show-depends fake-builtin prints "builtin fake_builtin"',
    },
    {
      name: 'test_initstate_from_name', file: 'test-initstate.c', tool: 'rmmod', args: ['fake-builtin'], root: 'test-initstate', uname: '4.4.4', expectedFail: true,
      translated: 'kmod_module_new_from_name("fake-builtin") has initstate builtin: rmmod fake-builtin refuses it as built in (exit 1)',
    },
    {
      name: 'loaded_1', file: 'test-loaded.c', tool: 'lsmod', args: [], root: 'test-loaded', stdout: 'Module                  Size  Used by\nbtusb                  11216  0\n',
      translated: "kmod_module_new_from_loaded, printed as lsmod prints it; the test's correct.txt has a space after the count, which lsmod does not print",
    },
    {
      name: 'blacklist_1', file: 'test-blacklist.c', tool: 'modprobe', args: ['-c'], root: 'test-blacklist',
      translated: 'KMOD_FILTER_BLACKLIST over pcspkr, pcspkr2, floppy, ext4 (pcspkr and floppy blacklisted): modprobe -c lists the blacklist the filter applies',
    },
    {
      name: 'test_dependencies', file: 'test-dependencies.c', tool: 'modprobe', args: ['--show-depends', 'mod-foo'], root: 'test-dependencies', uname: '4.0.20-kmod',
      translated: 'kmod_module_get_dependencies(mod-foo) = mod_foo_a, mod_foo_b, mod_foo_c: modprobe --show-depends mod-foo lists them before mod-foo',
    },
    {
      name: 'from_alias', file: 'test-new-module.c', tool: 'modprobe', args: ['-R', 'ext4.*'], root: 'test-new-module/from_alias', stdout: 'ext4\n',
      translated: 'kmod_module_new_from_lookup("ext4.*") through a config alias: modprobe -R prints the module names its correct.txt lists',
    },
  ];
  return cases;
}

/** The cases of one release's testsuite, plus the extra ones. */
function table(release: KmodRelease): TestsuiteCase[] {
  const cases = common(release);
  const loadResources = (suffix: string, root: string): TestsuiteCase => ({
    name: `test_load_resource${suffix}`, file: 'test-init.c', tool: 'modprobe', args: ['--show-depends', 'fake-builtin'], root, uname: '5.6.0', stdout: 'builtin fake_builtin\n',
    translated: "kmod_load_resources on a tree without modules.builtin.modinfo (and with an empty modules.builtin.alias.bin): modprobe loads the same resources before its lookup",
  });
  if (release === '30') {
    cases.push(
      { ...loadResources('s', 'test-init-load-resources'), name: 'test_load_resources#1' },
      { ...loadResources('s', 'test-init-load-resources-empty-builtin-aliases-bin'), name: 'test_load_resources#2' },
      {
        name: 'kmod_tool_insert', file: 'test-tools.c', tool: 'modprobe', args: ['mod-simple'], root: 'test-tools/insert', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-simple',
        translated: "`kmod insert mod-simple` (an --enable-experimental command Debian's kmod 30 lacks): modprobe mod-simple",
      },
      {
        name: 'kmod_tool_remove', file: 'test-tools.c', tool: 'modprobe', args: ['-r', 'mod-simple'], root: 'test-tools/remove', uname: '4.4.4', deleteRetcodes: '',
        translated: "`kmod remove mod-simple` (experimental, not in Debian's kmod 30): modprobe -r mod-simple",
      },
    );
  } else {
    cases.push(
      loadResources('1', 'test-init-load-resources'),
      loadResources('2', 'test-init-load-resources-empty-builtin-aliases-bin'),
      { name: 'modprobe_show_depends_no_load', file: 'test-modprobe.c', tool: 'modprobe', args: ['--show-depends', 'mod-simple'], root: 'test-modprobe/show-depends', uname: '4.4.4', modulesLoaded: '' },
      { name: 'modprobe_weakdep_loop', file: 'test-modprobe.c', tool: 'modprobe', args: ['mod-loop-b'], root: 'test-modprobe/weakdep-loop', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-loop-b', modulesNotLoaded: 'mod-loop-a,mod-simple-c' },
      kcmdline('9'),
      { name: 'modprobe_module_from_abspath', file: 'test-modprobe.c', tool: 'modprobe', args: ['/home/foo/mod-simple.ko'], root: 'test-modprobe/module-from-abspath', uname: '4.4.4', initRetcodes: '', modulesLoaded: 'mod-simple' },
      { name: 'modprobe_module_from_relpath', file: 'test-modprobe.c', tool: 'modprobe', args: ['./mod-simple.ko'], root: 'test-modprobe/module-from-relpath', uname: '4.4.4', initRetcodes: '', cwd: '/home/foo', modulesLoaded: 'mod-simple' },
      depmodFiles('depmod_modules_outdir', 'test-depmod/modules-outdir', [['correct-modules.dep', 'outdir/lib/modules/4.4.4/modules.dep'], ['correct-modules.alias', 'outdir/lib/modules/4.4.4/modules.alias']], ['--outdir', '/outdir/']),
      depmodFiles('depmod_another_moddir', 'test-depmod/another-moddir', [['correct-modules.dep', 'foobar/4.4.4/modules.dep']], ['-m', '/foobar']),
      depmodFiles('depmod_another_moddir_relative', 'test-depmod/another-moddir', [['correct-modules.dep', 'foobar2/4.4.4/modules.dep']], ['-m', 'foobar2']),
      depmodFiles('depmod_check_weakdep', 'test-depmod/check-weakdep', [['lib/modules/4.4.4/correct-modules.weakdep', 'lib/modules/4.4.4/modules.weakdep']]),
      { name: 'test_modinfo_builtin', file: 'test-modinfo.c', tool: 'modinfo', args: ['intel_uncore'], root: 'test-modinfo/builtin', uname: '6.11.0', out: 'test-modinfo/correct-builtin.txt' },
      { name: 'modprobe_config', file: 'test-weakdep.c', tool: 'modprobe', args: ['-c'], root: 'test-weakdep', uname: '4.4.4', out: 'test-weakdep/modprobe-c.txt' },
    );
  }
  return cases;
}

/** Tests of the pinned releases not run through a tool, with the reason. */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  'test-array.c': 'shared/array.c, an internal data structure: no tool behaviour',
  'test-hash.c': 'shared/hash.c, an internal data structure: no tool behaviour',
  'test-list.c': "libkmod's list API: no tool behaviour",
  'test-strbuf.c': 'shared/strbuf.c, an internal helper (xfail_strbuf_shrink_to is its own expected failure): no tool behaviour',
  'test-scratchbuf.c': 'shared/scratchbuf.c, an internal helper: no tool behaviour',
  'test-util.c': "shared/util.c helpers (alias_1 checks libkmod's alias parser, kmodkit's lives in lib/modindex/names.ts and its unit tests); no tool behaviour of its own",
  'test-testsuite.c': "self-tests of kmod's LD_PRELOAD traps (uname, path redirection); the chroot takes the place of path.so here",
  test_initlib: 'kmod_new() and kmod_unref() only: nothing a tool prints or does',
  from_name: "kmod_module_new_from_name's name normalisation for names not in any index; no tool prints a module object made from a bare name",
  test_weakdep: "kmod_module_get_weakdeps of mod-loop-b and mod-weakdep: no tool prints a module's weak dependencies; the same fixture's weakdep configuration is compared through modprobe -c (modprobe_config)",
  test_modinfo_signature: 'disabled upstream (#if 0 in test-modinfo.c)',
};

/** DEFINE_TEST names in a release's testsuite/test-*.c (macro-made modinfo tests expanded; kmod 30's duplicate test_load_resources numbered). */
export function testNames(srcDir: string): { name: string; file: string }[] {
  const dir = path.join(srcDir, 'testsuite');
  const out: { name: string; file: string }[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /^test-.*\.c$/.test(f)).sort()) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const seen = new Map<string, number>();
    for (const m of text.matchAll(/DEFINE_(?:TEST(?:_WITH_FUNC)?\(\s*(\w+)|MODINFO_(?:GENERIC|SIGN)_TEST\((\w+)\))/g)) {
      let name = m[1] ?? `test_modinfo_${m[2]}`;
      if (name === 'test_modinfo_' || m[2]?.startsWith('_')) continue; // the macros' own definitions
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n > 1) {
        const first = out.find((o) => o.name === name && o.file === file);
        if (first) first.name = `${name}#1`;
        name = `${name}#${n}`;
      }
      out.push({ name, file });
    }
  }
  return out;
}

export interface CaseSet {
  release: KmodRelease;
  cases: TestsuiteCase[];
  /** Every upstream test not run, with the reason. */
  leftOut: { name: string; file: string; reason: string }[];
  /** Upstream tests neither in the table nor in LEFT_OUT (the tier fails on any). */
  unexplained: string[];
}

/** The cases of `release` checked against the test names its sources define. */
export function casesFor(release: KmodRelease, srcDir: string): CaseSet {
  const cases = table(release);
  const byName = new Set(cases.map((c) => c.name));
  const leftOut: CaseSet['leftOut'] = [];
  const unexplained: string[] = [];
  const names = testNames(srcDir);
  for (const t of names) {
    if (byName.has(t.name)) continue;
    const reason = LEFT_OUT[t.name] ?? LEFT_OUT[t.file];
    if (reason) leftOut.push({ ...t, reason });
    else unexplained.push(`${t.file}:${t.name}`);
  }
  const upstream = new Set(names.map((t) => t.name));
  const stray = cases.filter((c) => c.file !== 'extra' && !upstream.has(c.name)).map((c) => `${c.file}:${c.name} (not in kmod ${release}'s sources)`);
  return { release, cases: cases.filter((c) => upstream.has(c.name) || c.file === 'extra'), leftOut, unexplained: [...unexplained, ...stray] };
}
