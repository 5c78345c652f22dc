/**
 * `kmodkit install` into a temporary root that describes the samples' real
 * target kernel (samples/target: Debian's 6.1.0-56-amd64 config and
 * Module.symvers): placement, depmod's indexes, the signature, the
 * compression the kernel wants, the pre-flight verdict, --dry-run, and bad
 * input leaving the tree untouched.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyModuleSignature } from '../../../lib/check/signature-verify.js';
import { findSignature } from '../../../lib/module/signature.js';
import { installModule } from '../../../lib/io/install-module.js';
import { makeKey } from '../../helpers/sign-file.js';
import { which } from '../../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const SAMPLES = join(ROOT, 'samples/ko');
const RELEASE = '6.1.0-56-amd64';
const work = mkdtempSync(join(tmpdir(), 'kmodkit-install-'));
const key = makeKey(work, 'install', 'rsa');
const symvers = join(work, 'Module.symvers');
writeFileSync(symvers, execFileSync('xz', ['-dc', join(ROOT, 'samples/target', RELEASE, 'Module.symvers.xz')], { maxBuffer: 1 << 26 }));

function makeRoot(name: string, configEdit: (c: string) => string = (c) => c): string {
  const root = join(work, name);
  mkdirSync(join(root, 'boot'), { recursive: true });
  mkdirSync(join(root, 'lib/modules', RELEASE), { recursive: true });
  const config = execFileSync('xz', ['-dc', join(ROOT, 'samples/target', RELEASE, 'config.xz')], { maxBuffer: 1 << 26 }).toString();
  writeFileSync(join(root, 'boot', `config-${RELEASE}`), configEdit(config));
  return root;
}

function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name).slice(root.length)));
  };
  walk(root);
  return out.sort();
}

test('install: strip, sign with CONFIG_MODULE_SIG_HASH, no compression (COMPRESS_NONE), depmod, check says it loads', async (t) => {
  const root = makeRoot('plain');
  const mods = ['hello.ko', 'kmodkit_exporter.ko', 'kmodkit_consumer.ko.zst'].map((m) => join(SAMPLES, m));
  const report = await installModule(mods, { kernel: RELEASE, root, sign: { key: key.key, cert: key.cert }, strip: true, symvers });
  t.deepEqual(report.failed, []);
  t.is(report.plan.hash, 'sha256');
  t.is(report.plan.hashFrom, 'CONFIG_MODULE_SIG_HASH');
  t.is(report.plan.compression, 'none');
  const upd = join(root, 'lib/modules', RELEASE, 'updates');
  t.deepEqual(readdirSync(upd).sort(), ['hello.ko', 'kmodkit_consumer.ko', 'kmodkit_exporter.ko']);
  for (const m of report.installed) {
    const image = new Uint8Array(readFileSync(m.dest));
    t.true(verifyModuleSignature(image, [readFileSync(key.der)]).verified, m.dest);
    t.is(findSignature(image)?.hashAlgorithm, 'sha256');
    t.true(m.stripped.some((s) => s.startsWith('.debug_')));
    t.is(m.check?.verdict, 'loads', JSON.stringify(m.check?.findings.filter((f) => f.status === 'failed')));
  }
  if (which('depmod')) {
    t.is(report.depmod?.status, 0, report.depmod?.stderr);
    t.is(readFileSync(join(root, 'lib/modules', RELEASE, 'modules.dep'), 'utf8'), 'updates/hello.ko:\nupdates/kmodkit_exporter.ko:\nupdates/kmodkit_consumer.ko: updates/kmodkit_exporter.ko\n');
    // kmod's modprobe resolves it from the new tree
    t.is(execFileSync('modprobe', ['-d', root, '-S', RELEASE, '--show-depends', 'kmodkit_consumer']).toString(), `insmod ${upd}/kmodkit_exporter.ko \ninsmod ${upd}/kmodkit_consumer.ko \n`);
  }
});

test('install --compress auto follows CONFIG_MODULE_COMPRESS_XZ (CRC32 check), replaces an older copy; CLI report', (t) => {
  const root = makeRoot('xz', (c) => c.replace('CONFIG_MODULE_COMPRESS_NONE=y', 'CONFIG_MODULE_COMPRESS_XZ=y').replace('# CONFIG_MODULE_COMPRESS_XZ is not set\n', '').replace('CONFIG_MODULE_SIG_HASH="sha256"', 'CONFIG_MODULE_SIG_HASH="sha512"'));
  const upd = join(root, 'lib/modules', RELEASE, 'extra');
  mkdirSync(upd, { recursive: true });
  writeFileSync(join(upd, 'hello.ko'), 'old copy');
  const r = spawnSync(process.execPath, [CLI, 'install', join(SAMPLES, 'hello.ko'), '--kernel', RELEASE, '--root', root, '--dir', 'extra', '--sign', key.key, key.cert, '--strip', '--symvers', symvers]);
  const stdout = r.stdout.toString();
  t.is(r.status, 0, r.stderr.toString() + stdout);
  t.regex(stdout, /sign with sha512 \(CONFIG_MODULE_SIG_HASH\)/);
  t.regex(stdout, /compress xz \(CONFIG_MODULE_COMPRESS_XZ=y\)/);
  t.regex(stdout, /check hello: would load/);
  t.deepEqual(readdirSync(upd), ['hello.ko.xz']);
  t.regex(execFileSync('xz', ['--robot', '-lv', join(upd, 'hello.ko.xz')]).toString(), /\tCRC32\t/);
  const image = new Uint8Array(execFileSync('xz', ['-dc', join(upd, 'hello.ko.xz')]));
  t.is(findSignature(image)?.hashAlgorithm, 'sha512');
});

test('install --dry-run prints the plan and writes nothing', (t) => {
  const root = makeRoot('dry');
  const before = tree(root);
  const r = spawnSync(process.execPath, [CLI, 'install', '-n', join(SAMPLES, 'hello.ko'), '--kernel', RELEASE, '--root', root, '--compress', 'zstd', '--sign', key.key, key.cert]);
  t.is(r.status, 0, r.stderr.toString());
  t.regex(r.stdout.toString(), /^plan: sign with sha256 .*; compress zstd \(option\); install into .*\/updates\/\nwould install .*hello\.ko -> .*hello\.ko\.zst/);
  t.deepEqual(tree(root), before);
});

test('install: bad input (another architecture, non-module, wrong key, unreadable key) is one clear error and leaves the tree untouched', (t) => {
  const root = makeRoot('bad');
  const other = makeKey(work, 'other', 'rsa');
  const arm = join(work, 'arm.ko');
  // an arm64 module: the sample with its ELF machine changed to EM_AARCH64 (183)
  const img = new Uint8Array(readFileSync(join(SAMPLES, 'hello.ko')));
  img[18] = 183;
  img[19] = 0;
  writeFileSync(arm, img);
  const garbage = join(work, 'garbage.key');
  writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n');
  const before = tree(root);
  const cases: [string[], RegExp][] = [
    [[arm], /arm\.ko: module is for another architecture \(ELF machine 183.*the target is x86_64/],
    [[key.cert], /install\.pem: not a kernel module/],
    [[join(SAMPLES, 'hello.ko'), '--sign', other.key, key.cert], /other\.key \(with .*install\.pem\): the private key does not match the certificate/],
    [[join(SAMPLES, 'hello.ko'), '--sign', garbage, key.cert], /garbage\.key: cannot read the private key/],
    [[join(SAMPLES, 'hello.ko'), '--sign', join(work, 'absent.key'), key.cert], /absent\.key: .*no such file/i],
  ];
  for (const [args, re] of cases) {
    const r = spawnSync(process.execPath, [CLI, 'install', ...args, '--kernel', RELEASE, '--root', root]);
    const err = r.stderr.toString();
    t.is(r.status, 1, args.join(' '));
    t.regex(err, re);
    t.is(err.trim().split('\n').length, 1, err);
    t.deepEqual(tree(root), before);
  }
});
