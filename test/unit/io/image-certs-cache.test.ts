/**
 * The cache of the certificates found in kernel images
 * (lib/io/image-certs-cache.ts): a second read of the same image takes them
 * from the entry named by its SHA-256; an entry is believed only when it is
 * this user's, not writable by others, a regular file (not a symlink), of
 * this format, naming this digest and holding exactly the certificates it
 * counts — otherwise the image is decoded again (and the entry rewritten).
 */
import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { entryParts, plantEntry, plantSymlinkEntry } from '../../helpers/cache-entry.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { imageDigest, readImageCerts, writeImageCerts } from '../../../lib/io/image-certs-cache.js';
import { readKernelImageCerts } from '../../../lib/io/trusted-keys.js';
import { userCacheDir } from '../../../lib/io/cache-files.js';
import { parseCertificates } from '../../../lib/module/x509.js';

const rsa = parseCertificates([readFileSync('samples/keys/rsa.der')])[0];
const ec = parseCertificates([readFileSync('samples/keys/ecdsa.der')])[0];

/** A gzip Image whose built-in list is the RSA certificate. */
function image(): Uint8Array {
  const vmlinux = new Uint8Array(8192 + 2048);
  vmlinux.set([0x7f, 0x45, 0x4c, 0x46]);
  vmlinux.set(rsa.der, 4096);
  return gzipSync(vmlinux);
}

test('a kernel image read twice: the second time from the entry of its digest; an entry not to believe is ignored and replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-imgcache-'));
  try {
    const cache = join(dir, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    const file = join(dir, 'Image.gz');
    const bytes = image();
    writeFileSync(file, bytes);
    const digest = imageDigest(bytes);
    const first = await readKernelImageCerts(file, cache);
    t.deepEqual(first.map((c) => c.kernelSubject), [rsa.kernelSubject]);
    t.deepEqual(readdirSync(cache), [digest], 'one entry, no temporary file left');
    t.is(lstatSync(join(cache, digest)).mode & 0o777, 0o600);
    t.deepEqual(readImageCerts(cache, digest)?.map((c) => c.kernelSubject), [rsa.kernelSubject]);

    // the entry is what a second read believes: plant another certificate under the same digest
    t.is(writeImageCerts(cache, digest, [ec]), undefined);
    t.deepEqual((await readKernelImageCerts(file, cache)).map((c) => c.kernelSubject), [ec.kernelSubject], 'taken from the entry');
    // ...unless others may write it: then the image is decoded (and the entry rewritten)
    chmodSync(join(cache, digest), 0o620);
    t.deepEqual((await readKernelImageCerts(file, cache)).map((c) => c.kernelSubject), [rsa.kernelSubject], 'group-writable: decoded again');
    t.is(lstatSync(join(cache, digest)).mode & 0o777, 0o600);
    // without a cache directory nothing is read or written
    writeImageCerts(cache, digest, [ec]);
    t.deepEqual((await readKernelImageCerts(file)).map((c) => c.kernelSubject), [rsa.kernelSubject]);

    const { entry, header, body } = entryParts(cache, digest);
    const refused = (label: string, data: Uint8Array | string): void => {
      plantEntry(cache, digest, data);
      t.is(readImageCerts(cache, digest), undefined, label);
    };
    refused('another digest in the header', Buffer.concat([Buffer.from(header.replace(digest, imageDigest(new Uint8Array(1))) + '\n'), body]));
    refused('another format', Buffer.concat([Buffer.from(header.replace(' 1 ', ' 999 ') + '\n'), body]));
    refused('more certificates counted than follow', Buffer.concat([Buffer.from(header.replace(/ 1$/, ' 2') + '\n'), body]));
    refused('bytes after the certificates', Buffer.concat([entry, Buffer.from([0])]));
    refused('no header line', body);
    const corrupt = Buffer.from(body);
    corrupt[4] ^= 0x01; // the tbsCertificate's SEQUENCE tag
    refused('a certificate that does not parse', Buffer.concat([Buffer.from(header + '\n'), corrupt]));
    // a symlink to a good entry is not followed
    plantSymlinkEntry(cache, digest, entry, dir);
    t.is(readImageCerts(cache, digest), undefined, 'a symlink');
    t.deepEqual((await readKernelImageCerts(file, cache)).map((c) => c.kernelSubject), [rsa.kernelSubject]);
    t.true(lstatSync(join(cache, digest)).isFile(), 'the symlink replaced by an entry of our own');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the user cache directory: made 0700 under $XDG_CACHE_HOME; none when a folder on the way is writable by others', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-usercache-'));
  try {
    chmodSync(dir, 0o700);
    const made = userCacheDir('kernel-certs', { XDG_CACHE_HOME: dir });
    t.is(made, join(dir, 'kmodkit', 'kernel-certs'));
    t.is(lstatSync(made!).mode & 0o777, 0o700);
    chmodSync(join(dir, 'kmodkit'), 0o777);
    t.is(userCacheDir('kernel-certs', { XDG_CACHE_HOME: dir }), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
