/**
 * depmod on the committed samples against kmod 30's depmod (when installed,
 * kmodkit with kmod: '30'); the kmod 34 and kmod 30 layouts and modules.weakdep,
 * the .bin reader round-trip, and the trie rules on hand-made facts
 * (worked example: fuse + cuse → a 125-byte modules.dep.bin).
 */
import test from 'ava';
import { needs } from '../../helpers/tier.js';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { depmod, depmodImports, type DepmodModuleFacts } from '../../../lib/depmod/depmod.js';
import { superfastHash, kmodHashOrder } from '../../../lib/depmod/kmod-hash.js';
import { runDepmodTree } from '../../../lib/io/depmod-tree.js';
import { lookupName, openModulesDir } from '../../../lib/io/modules-dir.js';
import { indexCreate, indexInsert, indexWrite } from '../../../lib/modindex/index-bin-write.js';
import { indexBinEntries, indexBinLookup, indexBinMatch, openIndexBin } from '../../../lib/modindex/index-bin-read.js';
import { which } from '../../corpus/cache.js';

const SAMPLES = fileURLToPath(new URL('../../../../samples/ko/', import.meta.url));

function facts(name: string, deps: string[] = [], exports: string[] = [name + '_sym'], modinfo: { key: string; value: string }[] = []): DepmodModuleFacts {
  const path = `kernel/fs/fuse/${name}.ko`;
  return { name, path, absPath: '/x/' + path, uncompressedPath: path, exports: exports.map((n) => ({ name: n, crc: 0 })),
    imports: depmodImports(deps.map((d) => ({ name: d + '_sym', crc: 0, weak: false }))), modinfo };
}

test('worked example: fuse + cuse give kmod\'s 125-byte modules.dep.bin (root at 12 for kmod 34, last for kmod 30)', (t) => {
  const order = 'kernel/fs/fuse/fuse.ko\nkernel/fs/fuse/cuse.ko\n';
  for (const [kmod, rootRef] of [['34', '2000000c'], ['30', '2000006b']] as const) {
    const r = depmod([facts('cuse', ['fuse']), facts('fuse')], { modulesOrder: order, modulesBuiltin: '', builtinModinfo: new Uint8Array(0), kmod });
    const dep = r.files.find((f) => f.name === 'modules.dep')!;
    t.is(Buffer.from(dep.data).toString(), 'kernel/fs/fuse/fuse.ko:\nkernel/fs/fuse/cuse.ko: kernel/fs/fuse/fuse.ko\n');
    const bin = r.files.find((f) => f.name === 'modules.dep.bin')!.data;
    t.is(bin.length, 125);
    t.is(Buffer.from(bin.subarray(0, 12)).toString('hex'), 'b007f45700020001' + rootRef);
    const ix = openIndexBin(bin);
    t.deepEqual(indexBinLookup(ix, 'cuse'), [{ priority: 1, value: 'kernel/fs/fuse/cuse.ko: kernel/fs/fuse/fuse.ko' }]);
    t.deepEqual(indexBinLookup(ix, 'cus'), []);
    t.deepEqual(indexBinEntries(ix).map((e) => e.key), ['cuse', 'fuse']);
  }
});

test('modules.weakdep (kmod 33+): weakdep= entries in module order after modules.softdep; none for kmod 30', (t) => {
  const mods = [
    facts('cuse', ['fuse'], ['cuse_sym'], [{ key: 'weakdep', value: 'fuse' }, { key: 'softdep', value: 'pre: crc32c' }, { key: 'weakdep', value: 'zstd' }]),
    facts('fuse'),
  ];
  const order = 'kernel/fs/fuse/fuse.ko\nkernel/fs/fuse/cuse.ko\n';
  const r34 = depmod(mods, { modulesOrder: order });
  const names = r34.files.map((f) => f.name);
  t.deepEqual(names, ['modules.dep', 'modules.dep.bin', 'modules.alias', 'modules.alias.bin', 'modules.softdep', 'modules.weakdep',
    'modules.symbols', 'modules.symbols.bin', 'modules.builtin.bin', 'modules.builtin.alias.bin', 'modules.devname']);
  const text = (r: typeof r34, n: string) => Buffer.from(r.files.find((f) => f.name === n)!.data).toString('latin1');
  t.is(text(r34, 'modules.weakdep'), '# Weak dependencies extracted from modules themselves.\nweakdep cuse fuse\nweakdep cuse zstd\n');
  t.is(text(r34, 'modules.softdep'), '# Soft dependencies extracted from modules themselves.\nsoftdep cuse pre: crc32c\n');
  const r30 = depmod(mods, { modulesOrder: order, kmod: '30' });
  t.false(r30.files.some((f) => f.name === 'modules.weakdep'));
  t.is(r30.files.length, 10);
  // -n prints the text files only, weakdep among them
  t.deepEqual(depmod(mods, { modulesOrder: order, textOnly: true }).files.map((f) => f.name),
    ['modules.dep', 'modules.alias', 'modules.softdep', 'modules.weakdep', 'modules.symbols', 'modules.devname']);
});

test('trie: split nodes, equal priorities newest first, duplicates reported, empty index is 12 bytes', (t) => {
  const root = indexCreate();
  t.false(indexInsert(root, 'pci:v1*', 'a', 2));
  t.false(indexInsert(root, 'pci:v12', 'b', 1));
  t.false(indexInsert(root, 'pci:v12', 'c', 1));
  t.true(indexInsert(root, 'pci:v12', 'b', 3));
  const ix = openIndexBin(indexWrite(root));
  t.deepEqual(indexBinLookup(ix, 'pci:v12').map((v) => v.value), ['c', 'b', 'b']);
  t.deepEqual(indexBinMatch(ix, 'pci:v1xyz').map((e) => e.key), ['pci:v1*']);
  t.is(indexWrite(indexCreate()).length, 12);
  t.throws(() => indexInsert(indexCreate(), 'caf\u00e9', 'x', 0), { message: /only 7-bit ASCII/ });
});

test('kmod hash order: superfasthash buckets then strcmp', (t) => {
  t.is(superfastHash(''), 0);
  const keys = ['fuse', 'cuse', 'vsock', 'ext4', 'a', 'ab', 'abc'];
  const order = kmodHashOrder(keys, 512);
  t.deepEqual([...order].sort(), [...keys].sort());
  for (let i = 1; i < order.length; i++) {
    const a = superfastHash(order[i - 1]) & 511, b = superfastHash(order[i]) & 511;
    t.true(a < b || (a === b && order[i - 1] < order[i]));
  }
});

test('a dependency cycle is an error naming the modules', (t) => {
  const e = t.throws(() => depmod([facts('a', ['b'], ['a_sym']), facts('b', ['a'], ['b_sym'])]));
  t.is((e as { code?: string }).code, 'EDEPCYCLE');
  t.regex(((e as { detail?: { messages: string[] } }).detail!.messages).join('\n'), /Found 2 modules in dependency cycles!/);
});

const kmod = which('depmod');
needs(kmod ? undefined : "kmod 30's depmod not installed")('samples: every file byte-identical to kmod 30 depmod (.ko and .ko.xz trees); the .bin reader agrees with modules.dep', async (t) => {
  for (const ext of ['.ko', '.ko.xz']) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-unit-'));
    try {
      const trees = ['a', 'b'].map((x) => {
        const dir = path.join(tmp, x, 'lib/modules/9.9.9');
        fs.mkdirSync(path.join(dir, 'kernel/drivers'), { recursive: true });
        fs.mkdirSync(path.join(dir, 'updates'), { recursive: true });
        for (const f of fs.readdirSync(SAMPLES)) if (f.endsWith(ext)) fs.copyFileSync(path.join(SAMPLES, f), path.join(dir, 'kernel/drivers', f));
        fs.copyFileSync(path.join(SAMPLES, 'hello' + ext), path.join(dir, 'updates', 'hello' + ext));
        fs.writeFileSync(path.join(dir, 'modules.order'), `kernel/drivers/kmodkit_consumer.ko\nkernel/drivers/kmodkit_exporter.ko\n`);
        fs.writeFileSync(path.join(dir, 'modules.builtin'), 'kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c-generic.ko\n');
        fs.writeFileSync(path.join(dir, 'modules.builtin.modinfo'), 'ext4.alias=fs-ext4\0ext4.license=GPL\0crc32c_generic.alias=crypto-crc32c\0crc32c_generic.alias=crc32c-generic\0');
        return dir;
      });
      const k = execFileSync('depmod', ['-C', '/nonexistent', '-b', path.join(tmp, 'a'), '9.9.9'], { stdio: ['ignore', 'pipe', 'pipe'] });
      t.is(k.length, 0);
      const r = await runDepmodTree({ dirname: trees[1], kversion: '9.9.9', configPaths: ['/nonexistent'], kmod: '30' });
      t.is(r.exitCode, 0);
      const names = fs.readdirSync(trees[0]).filter((f) => /^modules\.(dep|alias|symbols|softdep|devname|builtin\.bin|builtin\.alias\.bin)/.test(f)).sort();
      t.is(names.length, 10);
      for (const f of names) t.true(fs.readFileSync(path.join(trees[0], f)).equals(fs.readFileSync(path.join(trees[1], f))), `${ext} ${f}`);
      const dep = fs.readFileSync(path.join(trees[1], 'modules.dep'), 'latin1');
      t.regex(dep, new RegExp(`^kernel/drivers/kmodkit_consumer${ext.replace(/\./g, '\\.')}: kernel/drivers/kmodkit_exporter`, 'm'));
      t.regex(dep, new RegExp(`^updates/hello${ext.replace(/\./g, '\\.')}:`, 'm'));
      const ix = openIndexBin(fs.readFileSync(path.join(trees[1], 'modules.dep.bin')));
      for (const line of dep.split('\n').filter(Boolean)) {
        const name = path.basename(line.slice(0, line.indexOf(':'))).replace(/\..*/, '').replace(/-/g, '_');
        t.is(indexBinLookup(ix, name)[0]?.value, line);
      }
      // name lookups use modules.dep.bin when present (the text file is not needed)
      fs.rmSync(path.join(trees[1], 'modules.dep'));
      const found = lookupName(openModulesDir(trees[1]), 'kmodkit-consumer');
      t.is(found?.kind === 'file' ? path.relative(trees[1], found.path) : null, `kernel/drivers/kmodkit_consumer${ext}`);
      const builtin = openIndexBin(fs.readFileSync(path.join(trees[1], 'modules.builtin.alias.bin')));
      t.deepEqual(indexBinLookup(builtin, 'crc32c_generic').map((v) => v.value), ['crc32c_generic']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
});
