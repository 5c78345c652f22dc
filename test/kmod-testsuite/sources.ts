/**
 * kmod's own sources, fetched at test time from Debian's archive (GitHub is
 * not reachable): the source packages Debian 12 (kmod 30) and Debian 13
 * (kmod 34.2) build their kmod from, through a private apt state whose
 * sources.list names only deb-src entries of that suite. Each file is pinned
 * by SHA-256 (and apt checks it against the suite's signed Sources index);
 * the orig tarball is unpacked into the cache:
 *
 *   ~/.cache/kmodkit/kmod-testsuite/src/<release>/kmod-<upstream>/
 *
 * The Debian patches are not applied: they touch the manual pages, an extra
 * aliases.conf, rmmod's in-use message (34.2) and a riscv64-only trap; none of
 * them changes testsuite/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { privateAptOptions, run, which } from '../corpus/cache.js';

export type KmodRelease = '30' | '34.2';
export const KMOD_RELEASES: readonly KmodRelease[] = ['30', '34.2'];

export interface KmodSourcePin {
  release: KmodRelease;
  /** Debian suite that ships it. */
  suite: string;
  /** Debian source version (`apt-get source kmod=VERSION`). */
  version: string;
  /** Directory the orig tarball unpacks to. */
  topdir: string;
  /** file name → SHA-256, as listed in the suite's Sources (Checksums-Sha256). */
  files: Readonly<Record<string, string>>;
  /** The tarball holding testsuite/. */
  orig: string;
}

/** Debian 12 builds kmod 30 from a git snapshot (30+20221128); Debian 13 from the 34.2 release. */
export const KMOD_SOURCE_PINS: Readonly<Record<KmodRelease, KmodSourcePin>> = {
  '30': {
    release: '30',
    suite: 'bookworm',
    version: '30+20221128-1',
    topdir: 'kmod-30+20221128',
    orig: 'kmod_30+20221128.orig.tar.xz',
    files: {
      'kmod_30+20221128-1.dsc': '82be47e59807b9717641c1a9dd245618a23aa721709bcaf44409579f885f67a3',
      'kmod_30+20221128.orig.tar.xz': '00bc9ae4f1f9e1bbc1266d838452865bc7c24271d0853939edbe3029ad22af4e',
      'kmod_30+20221128-1.debian.tar.xz': '2676ba1c4d0526a47f9c678f1701e04bbb76297a6785c0ef6dc6973297cd99d8',
    },
  },
  '34.2': {
    release: '34.2',
    suite: 'trixie',
    version: '34.2-2',
    topdir: 'kmod-34.2',
    orig: 'kmod_34.2.orig.tar.xz',
    files: {
      'kmod_34.2-2.dsc': 'a36884eceaccc3647b5181233282578548d1f1fc39bfb5c1d4459982fb52505a',
      'kmod_34.2.orig.tar.xz': '012d16e2099115486d8aa9f2c2a23d058d3d0cad83113a60512647d25d3869e8',
      'kmod_34.2-2.debian.tar.xz': '93c9d227cf07a7c18a7292a79e51c94a6ea23e0ef4626ab2c31b5d711c73cefe',
    },
  },
};

/** The tier's cache: $KMODKIT_KMOD_TESTSUITE_DIR, else ~/.cache/kmodkit/kmod-testsuite. */
export function testsuiteCache(): string {
  const env = process.env.KMODKIT_KMOD_TESTSUITE_DIR;
  return env && env.trim() ? path.resolve(env) : path.join(os.homedir(), '.cache', 'kmodkit', 'kmod-testsuite');
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The archive URIs this system's apt uses (deb.debian.org and its security archive, or a mirror). */
async function archiveUris(): Promise<{ main: string; security: string | null }> {
  const r = await run('apt-get', ['indextargets', '--format', '$(REPO_URI)|$(RELEASE)']);
  let main: string | null = null;
  let security: string | null = null;
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [uri, suite] = line.split('|');
    if (!uri || !suite) continue;
    if (suite.endsWith('-security')) security ??= uri;
    else main ??= uri;
  }
  return { main: main ?? 'http://deb.debian.org/debian/', security };
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A private apt state naming `suite`'s deb-src entries, updated when its lists are older than a day. */
async function sourceAptState(cache: string, suite: string, log: (l: string) => void): Promise<string> {
  const dir = path.join(cache, 'apt', `${suite}-src`);
  for (const sub of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'preferences.d']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  if (!fs.existsSync(path.join(dir, 'status'))) fs.writeFileSync(path.join(dir, 'status'), '');
  const lists = path.join(dir, 'lists');
  const fresh = fs.readdirSync(lists).some((f) => f.endsWith('_Sources') || f.includes('_Sources.')) &&
    Date.now() - Math.max(...fs.readdirSync(lists).map((f) => fs.statSync(path.join(lists, f)).mtimeMs)) < 24 * 3600e3;
  if (fresh) return dir;
  const { main } = await archiveUris();
  const signedBy = fs.existsSync(KEYRING) ? ` [signed-by=${KEYRING}]` : '';
  fs.writeFileSync(path.join(dir, 'sources.list'), `deb-src${signedBy} ${main} ${suite} main\n`);
  const r = await run('apt-get', [...privateAptOptions(dir), 'update']);
  if (r.code !== 0) throw new Error(`apt-get update (deb-src ${suite}) failed: ${r.stderr.toString('utf8').trim().split('\n').slice(-3).join(' | ')}`);
  log(`kmod-testsuite: apt state ${dir} (deb-src ${suite}) updated`);
  return dir;
}

export interface KmodSource {
  pin: KmodSourcePin;
  /** The unpacked upstream tree (testsuite/, libkmod/, shared/, tools/, scripts/). */
  dir: string;
  /** What was checked: file → sha256 ok; files the archive no longer serves are named in `missing`. */
  verified: string[];
  missing: string[];
}

/**
 * kmod's source for `release`, downloaded once (`apt-get source
 * --download-only kmod=VERSION` with the private deb-src state), every file
 * checked against its pinned SHA-256, the orig tarball unpacked. A file the
 * archive does not serve (trixie's kmod_34.2-2.dsc answers 404 on this
 * machine's mirror) is reported in `missing`; the tarballs must be there.
 */
export async function ensureKmodSource(release: KmodRelease, log: (l: string) => void = () => {}): Promise<KmodSource> {
  const pin = KMOD_SOURCE_PINS[release];
  const cache = testsuiteCache();
  const base = path.join(cache, 'src', release);
  const stamp = path.join(base, 'stamp.json');
  const dir = path.join(base, pin.topdir);
  if (fs.existsSync(stamp) && fs.existsSync(dir)) {
    const s = JSON.parse(fs.readFileSync(stamp, 'utf8')) as { version: string; verified: string[]; missing: string[] };
    if (s.version === pin.version) return { pin, dir, verified: s.verified, missing: s.missing };
  }
  for (const tool of ['apt-get', 'tar', 'xz']) if (!which(tool)) throw new Error(`kmod-testsuite: '${tool}' not found`);
  const apt = await sourceAptState(cache, pin.suite, log);
  const dl = path.join(base, 'download');
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  fs.chmodSync(dl, 0o777);
  const r = await run('apt-get', [...privateAptOptions(apt), 'source', '--download-only', `kmod=${pin.version}`], { cwd: dl });
  const verified: string[] = [];
  const missing: string[] = [];
  for (const [file, want] of Object.entries(pin.files)) {
    const f = path.join(dl, file);
    if (!fs.existsSync(f)) {
      missing.push(file);
      continue;
    }
    const got = sha256(f);
    if (got !== want) throw new Error(`kmod-testsuite: ${file}: SHA-256 ${got}, pinned ${want}`);
    verified.push(file);
  }
  if (missing.includes(pin.orig)) {
    throw new Error(`kmod-testsuite: apt-get source kmod=${pin.version} (${pin.suite}) did not fetch ${pin.orig} (exit ${r.code}): ${r.stderr.toString('utf8').trim().split('\n').slice(-3).join(' | ')}`);
  }
  const t = await run('tar', ['-xf', path.join(dl, pin.orig), '-C', base]);
  if (t.code !== 0 || !fs.existsSync(path.join(dir, 'testsuite'))) throw new Error(`kmod-testsuite: unpacking ${pin.orig} failed: ${t.stderr.toString('utf8').trim()}`);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.writeFileSync(stamp, JSON.stringify({ version: pin.version, verified, missing }, null, 2));
  log(`kmod-testsuite: kmod ${release} source ${pin.version} (${pin.suite}) unpacked: ${verified.join(', ')} checked${missing.length ? `; not served by the archive: ${missing.join(', ')}` : ''}`);
  return { pin, dir, verified, missing };
}
