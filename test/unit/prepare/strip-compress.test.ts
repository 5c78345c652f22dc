/**
 * strip and compress against the real tools: `strip --strip-debug` (binutils)
 * for --debug, the unsigned build output for --signature, and the xz/zstd
 * tools with modules_install's options for compression (zstd byte for byte
 * only where the tool's zstd version is the encoder's; its frame parameters
 * always).
 */
import test from 'ava';
import { needs, notRun } from '../../helpers/tier.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { stripDebug } from '../../../lib/prepare/strip-debug.js';
import { unsignedImage } from '../../../lib/prepare/sign-module.js';
import { encodeModule } from '../../../lib/io/native/encode.js';
import { zstdCodec } from '../../../lib/io/native/zstd.js';
import { kbuildFrameProblems, zstdToolCompress, zstdToolVersion } from '../../helpers/zstd-tool.js';
import { loadCachedCorpus, listModules, subsetEvery } from '../../corpus/cache.js';
import { which } from '../../helpers/tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli/index.js');
const SAMPLES = join(ROOT, 'samples/ko');
const names = readdirSync(SAMPLES).filter((f) => f.endsWith('.ko'));
const dir = mkdtempSync(join(tmpdir(), 'kmodkit-strip-'));

test('strip --signature gives back the exact unsigned build output', (t) => {
  const signed = readdirSync(join(SAMPLES, 'signed')).filter((f) => f.endsWith('.ko'));
  t.true(signed.length >= 5);
  for (const f of signed) {
    const out = join(dir, f);
    copyFileSync(join(SAMPLES, 'signed', f), out);
    const r = spawnSync(process.execPath, [CLI, 'strip', '--signature', out]);
    t.is(r.status, 0, r.stderr.toString());
    t.deepEqual(readFileSync(out), readFileSync(join(SAMPLES, f)), f);
  }
  // and in a compressed module, which stays compressed
  const xz = join(dir, 'hello.ko.xz');
  copyFileSync(join(SAMPLES, 'signed/hello.ko.xz'), xz);
  t.is(spawnSync(process.execPath, [CLI, 'strip', '-s', xz]).status, 0);
  t.deepEqual(execFileSync('xz', ['-dc', xz]), readFileSync(join(SAMPLES, 'hello.ko')));
  const again = spawnSync(process.execPath, [CLI, 'strip', '-s', xz]);
  t.is(again.status, 1);
  t.regex(again.stderr.toString(), /hello\.ko\.xz: module is not signed/);
});

/** readelf views that must agree with binutils' strip: sections (name, type, flags, size), symbols, relocations. */
function views(file: string): Record<string, string> {
  const re = (args: string[]) => execFileSync('readelf', ['-W', ...args, file]).toString();
  const sections = re(['-S'])
    .split('\n')
    .filter((l) => /^\s+\[\s*\d+\]/.test(l))
    .map((l) => {
      const m = /\]\s+(\S*)\s+(\S+)\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(.*)$/.exec(l)!;
      // string tables: binutils rebuilds them without dropped names; the names themselves are compared through the symbol view
      return m[1] === '.shstrtab' || m[1] === '.strtab' ? `${m[1]} ${m[2]}` : `${m[1]} ${m[2]} ${m[3]} ${m[4]}`;
    })
    .join('\n');
  return {
    sections,
    symbols: re(['-s']),
    relocations: re(['-r']).replace(/ at offset 0x[0-9a-f]+/g, ''),
    modinfo: execFileSync('modinfo', ['-0', file]).toString().split('\0').slice(1).join('\n'),
    versions: execFileSync('modprobe', ['--dump-modversions', file]).toString(),
  };
}

needs(!which('strip') || !which('readelf') || !which('modprobe') ? 'binutils (strip, readelf) or kmod (modprobe) missing' : undefined)('strip --debug agrees with binutils strip --strip-debug on every sample (sections, symbols, relocations, modinfo, versions)', (t) => {
  let dropped = 0;
  for (const n of names) {
    const input = join(SAMPLES, n);
    const ref = join(dir, `ref-${n}`);
    execFileSync('strip', ['--strip-debug', '-o', ref, input]);
    const ours = join(dir, `ours-${n}`);
    const r = stripDebug(new Uint8Array(readFileSync(input)));
    writeFileSync(ours, r.image);
    dropped += r.removed.length;
    t.true(r.removed.some((s) => s.startsWith('.debug_')), `${n} had debug info`);
    const a = views(ref);
    const b = views(ours);
    for (const k of Object.keys(a)) t.is(b[k], a[k], `${n}: ${k}`);
    t.true(r.image.length < readFileSync(input).length / 5, `${n} shrinks`);
    // stripping twice changes nothing more
    t.deepEqual(stripDebug(r.image).removed, []);
  }
  t.log(`${names.length} samples, ${dropped} debug sections dropped, all views equal to binutils'`);
});

test('strip refuses a signed module for --debug and a non-module file, one line each', (t) => {
  const r = spawnSync(process.execPath, [CLI, 'strip', '--debug', join(SAMPLES, 'signed/hello.ko'), '-o', join(dir, 'x.ko')]);
  t.is(r.status, 1);
  t.regex(r.stderr.toString(), /signed\/hello\.ko: module is signed/);
  t.false(existsSync(join(dir, 'x.ko')));
  const junk = join(dir, 'junk.ko');
  writeFileSync(junk, 'not an ELF file at all');
  const j = spawnSync(process.execPath, [CLI, 'strip', '-g', junk]);
  t.is(j.status, 1);
  t.is(j.stderr.toString().trim().split('\n').length, 1);
  t.is(readFileSync(junk, 'utf8'), 'not an ELF file at all');
});

function debianSample(n: number): string[] {
  const pkg = loadCachedCorpus().find((p) => p.kind === 'image' && p.arch === 'amd64' && p.release.startsWith('6.1.'));
  if (!pkg) return [];
  const files = listModules(pkg).files.filter((f) => f.endsWith('.ko'));
  return subsetEvery(files, Math.floor(files.length / n)).slice(0, n);
}

// The Debian modules widen a comparison over the samples; when the corpus is not cached that part does not run: say so.
if (!loadCachedCorpus().some((p) => p.kind === 'image' && p.arch === 'amd64' && p.release.startsWith('6.1.'))) notRun('compression of real Debian modules compared with xz/zstd', 'no cached 6.1 amd64 corpus tree (node dist/test/corpus/fetch.js)');

needs(!which('xz') || !which('zstd') || !which('gzip') ? 'xz/zstd/gzip missing' : undefined)('compress: xz byte-identical to `xz --check=crc32 --lzma2=dict=1MiB`; zstd to `zstd` where the tool has the encoder\'s zstd version, Kbuild\'s frame parameters always; gzip round-trips with gzip -n\'s header', async (t) => {
  const codec = (await zstdCodec())!;
  const toolVersion = zstdToolVersion();
  const zstdSame = toolVersion === codec.version;
  const inputs = [...names.map((n) => join(SAMPLES, n)), ...debianSample(10)];
  let bytes = 0;
  let gzOurs = 0;
  let gzTool = 0;
  for (const f of inputs) {
    const data = new Uint8Array(readFileSync(f));
    bytes += data.length;
    const xz = await encodeModule('xz', data);
    t.deepEqual(Buffer.from(xz), execFileSync('xz', ['--check=crc32', '--lzma2=dict=1MiB', '-c', f], { maxBuffer: 1 << 28 }), `xz ${f}`);
    const zst = await encodeModule('zstd', data);
    t.deepEqual(kbuildFrameProblems(zst, data.length), [], `zstd frame parameters ${f}`);
    if (zstdSame) t.true(Buffer.from(zst).equals(zstdToolCompress(f)), `zstd ${f}: same bytes as zstd ${toolVersion}`);
    else t.true(Buffer.from(data).equals(execFileSync('zstd', ['-q', '-d', '-c'], { input: zst, maxBuffer: 1 << 28 })), `zstd ${toolVersion} decodes ${f}`);
    const gz = await encodeModule('gzip', data);
    const tool = execFileSync('gzip', ['-n', '-c', f], { maxBuffer: 1 << 28 });
    t.deepEqual(Buffer.from(gz.subarray(0, 10)), tool.subarray(0, 10), 'gzip -n header (no name, mtime 0, OS unix)');
    t.deepEqual(new Uint8Array(gunzipSync(gz)), data);
    gzOurs += gz.length;
    gzTool += tool.length;
  }
  const zstdLine = zstdSame
    ? `zstd identical to the tool (both zstd ${toolVersion})`
    : `zstd with Kbuild's frame parameters, decoded by the tool (encoder zstd ${codec.version} from ${codec.source}, tool ${toolVersion}: bytes not compared)`;
  t.log(`${inputs.length} modules (${bytes} bytes): xz identical to the tool; ${zstdLine}; gzip stream ${gzOurs} bytes vs GNU gzip ${gzTool} (${((gzOurs / gzTool - 1) * 100).toFixed(2)}%; GNU gzip's own deflate differs from zlib's)`);
});

test('CLI compress/decompress: names as the tools, input removed unless -k, round trip exact', (t) => {
  const f = join(dir, 'rt.ko');
  copyFileSync(join(SAMPLES, 'kmodkit_params.ko'), f);
  for (const [fmt, suffix] of [['xz', '.xz'], ['zstd', '.zst'], ['gzip', '.gz']]) {
    t.is(spawnSync(process.execPath, [CLI, 'compress', '--format', fmt, f]).status, 0);
    t.false(existsSync(f));
    t.true(existsSync(f + suffix));
    t.is(spawnSync(process.execPath, [CLI, 'decompress', f + suffix]).status, 0);
    t.false(existsSync(f + suffix));
    t.deepEqual(readFileSync(f), readFileSync(join(SAMPLES, 'kmodkit_params.ko')), fmt);
  }
  const k = spawnSync(process.execPath, [CLI, 'compress', '-k', '-F', 'xz', f]);
  t.is(k.status, 0);
  t.true(existsSync(f) && existsSync(`${f}.xz`));
  t.regex(execFileSync('xz', ['--robot', '-lv', `${f}.xz`]).toString(), /\tCRC32\t/);
  t.is(spawnSync(process.execPath, [CLI, 'compress', '-F', 'lz4', f]).status, 2);
});
