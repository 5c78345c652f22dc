/**
 * Compressed target inputs kept decoded (lib/io/decoded-cache.ts): a second
 * read of the same compressed file takes what it decodes to from the entry
 * named by its SHA-256; an entry is believed only when it is this user's,
 * not writable by others, a regular file (not a symlink), of this format,
 * naming this digest and holding exactly the bytes its size and SHA-256 say
 * — otherwise the file is decoded again (and the entry rewritten). The
 * folder keeps the newest KEPT_ENTRIES entries; `cache: false` reads and
 * writes none.
 */
import test from 'ava';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { entryParts, plantEntry, plantSymlinkEntry } from '../../helpers/cache-entry.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodedDigest, KEPT_ENTRIES, readDecoded, writeDecoded } from '../../../lib/io/decoded-cache.js';
import { readInputMaybeCompressed } from '../../../lib/io/read-input.js';
import { INPUT_LIMITS } from '../../../lib/input-limits.js';
import { loadTarget } from '../../../lib/io/target.js';

const SYMVERS = '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0x9abcdef0\tkmalloc_caches\tvmlinux\tEXPORT_SYMBOL\t\n';
const limit = INPUT_LIMITS.symvers;
const text = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('latin1') : undefined);

test('a compressed input read twice: the second time from the entry of its digest; an entry not to believe is ignored and replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-decoded-'));
  try {
    const cache = join(dir, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    const file = join(dir, 'Module.symvers.gz');
    const bytes = gzipSync(SYMVERS);
    writeFileSync(file, bytes);
    const digest = decodedDigest(bytes);
    const read = async (withCache = true): Promise<string> => text(await readInputMaybeCompressed(file, limit, withCache ? { decodedCache: () => cache } : {}))!;
    t.is(await read(), SYMVERS);
    t.deepEqual(readdirSync(cache), [digest], 'one entry, no temporary file left');
    t.is(lstatSync(join(cache, digest)).mode & 0o777, 0o600);
    t.is(text(readDecoded(cache, digest, limit.bytes)), SYMVERS);

    // the entry is what a second read believes: plant other bytes under the same digest
    t.is(writeDecoded(cache, digest, Buffer.from('planted\n')), undefined);
    t.is(await read(), 'planted\n', 'taken from the entry');
    t.is(await read(false), SYMVERS, 'without a cache folder the file is decoded');
    // ...unless others may write it: then the file is decoded (and the entry rewritten)
    chmodSync(join(cache, digest), 0o620);
    t.is(await read(), SYMVERS, 'group-writable: decoded again');
    t.is(lstatSync(join(cache, digest)).mode & 0o777, 0o600);
    t.is(text(readDecoded(cache, digest, limit.bytes)), SYMVERS);
    // an entry larger than the input's cap is not read
    t.is(readDecoded(cache, digest, SYMVERS.length - 1), undefined, 'over the cap');

    const { entry, header, body } = entryParts(cache, digest);
    const refused = (label: string, data: Uint8Array | string): void => {
      plantEntry(cache, digest, data);
      t.is(readDecoded(cache, digest, limit.bytes), undefined, label);
    };
    refused('another digest in the header', Buffer.concat([Buffer.from(header.replace(digest, decodedDigest(new Uint8Array(1))) + '\n'), body]));
    refused('another format', Buffer.concat([Buffer.from(header.replace(' 1 ', ' 999 ') + '\n'), body]));
    refused('another size', Buffer.concat([Buffer.from(header.replace(` ${SYMVERS.length} `, ` ${SYMVERS.length + 1} `) + '\n'), body]));
    const changed = Buffer.from(body);
    changed[2] ^= 0x01;
    refused('bytes that do not hash to the recorded digest', Buffer.concat([Buffer.from(header + '\n'), changed]));
    refused('bytes after the recorded size', Buffer.concat([entry, Buffer.from('x')]));
    refused('no header line', body);
    // a symlink to a good entry is not followed
    plantSymlinkEntry(cache, digest, entry, dir);
    t.is(readDecoded(cache, digest, limit.bytes), undefined, 'a symlink');
    t.is(await read(), SYMVERS);
    t.true(lstatSync(join(cache, digest)).isFile(), 'the symlink replaced by an entry of our own');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the cache folder keeps its newest entries and leaves other files alone', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-decoded-prune-'));
  try {
    writeFileSync(join(dir, 'README'), 'not an entry');
    const digests: string[] = [];
    for (let i = 0; i < KEPT_ENTRIES + 3; i++) {
      const digest = decodedDigest(Buffer.from(`input ${i}`));
      digests.push(digest);
      t.is(writeDecoded(dir, digest, Buffer.from(`decoded ${i}`)), undefined);
      // distinct ages, oldest first
      utimesSync(join(dir, digest), 1_000_000 + i, 1_000_000 + i);
    }
    const left = readdirSync(dir);
    t.true(left.includes('README'));
    t.is(left.length, KEPT_ENTRIES + 1);
    // the three oldest went (the last write pruned before its own age was set: it counts as the newest)
    for (const d of digests.slice(0, 3)) t.false(existsSync(join(dir, d)));
    for (const d of digests.slice(3)) t.true(existsSync(join(dir, d)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadTarget keeps a compressed Module.symvers decoded in the user cache, and cache: false reads and writes none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-decoded-target-'));
  const saved = process.env.XDG_CACHE_HOME;
  try {
    chmodSync(dir, 0o700);
    const xdg = join(dir, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    process.env.XDG_CACHE_HOME = xdg;
    const file = join(dir, 'Module.symvers.gz');
    writeFileSync(file, gzipSync(SYMVERS));
    const entries = (): string[] => (existsSync(join(xdg, 'kmodkit/decoded')) ? readdirSync(join(xdg, 'kmodkit/decoded')) : []);
    const crcOf = async (cache: boolean): Promise<number | undefined> =>
      (await loadTarget({ kernelRelease: '6.1.0-1-amd64', symversPath: file, cache })).symvers?.bySymbol.get('printk')?.crc;

    t.is(await crcOf(false), 0x12345678);
    t.deepEqual(entries(), [], 'cache: false writes nothing');
    t.is(await crcOf(true), 0x12345678);
    t.deepEqual(entries(), [decodedDigest(readFileSync(file))]);
    t.is(await crcOf(true), 0x12345678, 'the same target from the entry');
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
