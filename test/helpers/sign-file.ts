/**
 * The kernel's scripts/sign-file for comparison tests: Debian's linux-kbuild
 * package installed on the system, or downloaded with `apt-get download` and
 * unpacked into ~/.cache/kmodkit/tools (outside the repository). Null, with
 * the reason, when neither works.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function installed(): string | null {
  for (const d of existsSync('/usr/lib') ? readdirSync('/usr/lib') : []) {
    const p = join('/usr/lib', d, 'scripts/sign-file');
    if (d.startsWith('linux-kbuild-') && existsSync(p)) return p;
  }
  return null;
}

export function findSignFile(): { path: string | null; reason: string } {
  const sys = installed();
  if (sys) return { path: sys, reason: 'installed' };
  const cache = join(process.env.KMODKIT_TOOLS_DIR ?? join(homedir(), '.cache/kmodkit/tools'), 'linux-kbuild');
  const cached = join(cache, 'usr/lib/linux-kbuild-6.1/scripts/sign-file');
  if (existsSync(cached)) return { path: cached, reason: 'cached' };
  try {
    mkdirSync(cache, { recursive: true });
    execFileSync('apt-get', ['download', 'linux-kbuild-6.1'], { cwd: cache, stdio: 'pipe', timeout: 120_000 });
    const deb = readdirSync(cache).find((f) => f.endsWith('.deb'));
    if (!deb) return { path: null, reason: 'apt-get download linux-kbuild-6.1 produced no .deb' };
    execFileSync('dpkg-deb', ['-x', join(cache, deb), cache], { stdio: 'pipe' });
    return existsSync(cached) ? { path: cached, reason: 'downloaded' } : { path: null, reason: `${deb} holds no scripts/sign-file` };
  } catch (e) {
    return { path: null, reason: `cannot get Debian's sign-file: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** A throw-away key and self-signed certificate made with openssl: { key, cert (PEM), der }. */
export function makeKey(dir: string, name: string, kind: 'rsa' | 'ec-p256' | 'ec-p384'): { key: string; cert: string; der: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const der = join(dir, `${name}.der`);
  const newkey = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${kind === 'ec-p256' ? 'prime256v1' : 'secp384r1'}`];
  execFileSync('openssl', ['req', '-new', '-nodes', '-utf8', '-sha256', '-days', '3650', '-batch', '-x509', '-subj', `/CN=kmodkit ${name}/O=kmodkit tests`, ...newkey, '-keyout', key, '-out', cert], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER', '-out', der], { stdio: 'pipe' });
  return { key, cert, der };
}
