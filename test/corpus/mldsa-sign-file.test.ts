/**
 * ML-DSA module signatures made by the real tools (issue 27 item 3): keys
 * and certificates from Debian 13's OpenSSL 3.5, modules signed by the
 * kernel's own scripts/sign-file from sid's linux-kbuild-7.x (built against
 * OpenSSL 3.5+: it writes CMS with signed attributes for ML-DSA). Both run
 * here through their own suite's ld-linux, like kmod-reference.ts runs kmod.
 *
 * Verified by kmodkit (node:crypto's verifier, ML-DSA through
 * @noble/post-quantum on OpenSSL < 3.5, and the page's WebCrypto verifier)
 * under 7.x rules with the authattrs waiver; refused where the kernel
 * refuses; a tampered module or signature fails.
 *
 * Skipped (with the reason) when the tools cannot be fetched; under CI=true
 * a fetch failure fails, since the corpus tier (which CI runs) holds sid's
 * kernel headers.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusDir, ensureSuitePackages, loadCachedCorpus, run, which } from './cache.js';
import { verifyModuleSignature } from '../../lib/check/signature-verify.js';
import { signatureRules } from '../../lib/check/signature-verify-base.js';
import { parseKconfig } from '../../lib/check/kconfig.js';
import { findSignature } from '../../lib/module/signature.js';
import { verifyModuleSignatureWeb } from '../../web/src/signature-verify-webcrypto.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LIB = 'usr/lib/x86_64-linux-gnu';

interface Tools {
  openssl: string[];
  signFile: string[];
  versions: string;
}

async function tools(): Promise<Tools | string> {
  if (process.arch !== 'x64') return `needs an x86-64 host (this is ${process.arch})`;
  if (!which('apt-get') || !which('dpkg-deb')) return 'apt-get/dpkg-deb not available';
  const sidHeaders = loadCachedCorpus(corpusDir()).find((p) => p.kind === 'headers' && /^linux-headers-7\./.test(p.package));
  if (!sidHeaders) return `no 7.x kernel headers in the corpus cache ${corpusDir()} (sid's; run node dist/test/corpus/fetch.js)`;
  const kbuild = `linux-kbuild-${sidHeaders.package.replace(/^linux-headers-/, '').replace(/-amd64$/, '')}`;
  try {
    const ossl = await ensureSuitePackages('openssl-trixie', 'trixie', 'amd64', ['openssl', 'libssl3t64', 'libc6', 'libzstd1', 'zlib1g'], () => {});
    const sid = await ensureSuitePackages('sign-file-sid', 'sid', 'amd64', [kbuild, 'libssl3t64', 'libc6', 'libzstd1', 'zlib1g'], () => {});
    const tl = join(ossl.root, LIB);
    const sl = join(sid.root, LIB);
    const signFile = join(sid.root, 'usr/lib', kbuild, 'scripts/sign-file');
    if (!existsSync(signFile)) return `${kbuild} has no scripts/sign-file`;
    return {
      openssl: [join(tl, 'ld-linux-x86-64.so.2'), '--library-path', tl, join(ossl.root, 'usr/bin/openssl')],
      signFile: [join(sl, 'ld-linux-x86-64.so.2'), '--library-path', sl, signFile],
      versions: `openssl ${ossl.versions.openssl} (trixie), ${kbuild} ${sid.versions[kbuild]} (sid)`,
    };
  } catch (e) {
    return `cannot fetch the tools: ${(e as Error).message.split('\n')[0]}`;
  }
}

const got = await tools();
const GENKEY = `[ req ]
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts
[ req_distinguished_name ]
O = kmodkit
CN = kmodkit ML-DSA test module signing key
[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

if (typeof got === 'string') {
  if (process.env.CI === 'true') test('ML-DSA with OpenSSL 3.5 keys and the kernel\'s sign-file', (t) => t.fail(`CI must run this tier: ${got}`));
  else test.skip(`ML-DSA with OpenSSL 3.5 keys and the kernel's sign-file — skipped: ${got}`, () => {});
} else {
  const T = got;
  const waiver = signatureRules('7.2.13', parseKconfig('CONFIG_CRYPTO_MLDSA=y\nCONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA=y\n'));
  const noWaiver = signatureRules('7.2.13', parseKconfig('CONFIG_CRYPTO_MLDSA=y\n'));
  const v612 = signatureRules('6.12.118+deb13-amd64', undefined);
  for (const alg of ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const) {
    test.serial(`${alg}: OpenSSL 3.5 key, sid's sign-file: verifies under 7.x with the waiver, refused without it and before 7.0, tampered fails (${T.versions})`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'kmodkit-mldsa-'));
      try {
        writeFileSync(join(dir, 'x509.genkey'), GENKEY);
        const key = join(dir, 'key.pem');
        const cert = join(dir, 'cert.pem');
        const gen = await run(T.openssl[0], [...T.openssl.slice(1), 'req', '-new', '-nodes', '-utf8', '-days', '36500', '-batch', '-x509', '-config', join(dir, 'x509.genkey'), '-outform', 'PEM', '-out', cert, '-keyout', key, '-newkey', alg], { env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
        t.is(gen.code, 0, gen.stderr.toString());
        const ko = join(dir, 'hello.ko');
        copyFileSync(join(ROOT, 'samples/ko/hello.ko'), ko);
        const sf = await run(T.signFile[0], [...T.signFile.slice(1), 'sha512', key, cert, ko]);
        t.is(sf.code, 0, sf.stderr.toString());
        const img = new Uint8Array(readFileSync(ko));
        const s = findSignature(img)!;
        t.is(s.signatureAlgorithm, alg.toUpperCase().replace('ML-DSA', 'ML-DSA'));
        t.true(s.hasSignedAttributes, 'sign-file with OpenSSL < 4 writes signed attributes for ML-DSA');
        const pem = readFileSync(cert, 'utf8');
        const ok = verifyModuleSignature(img, [pem], { rules: waiver });
        t.true(ok.verified, ok.reason);
        t.regex(ok.warnings!.join(), /Waived/);
        const web = await verifyModuleSignatureWeb(img, [new TextEncoder().encode(pem)], waiver);
        t.true(web.verified, `page: ${web.reason}`);
        t.is(verifyModuleSignature(img, [pem], { rules: noWaiver }).errno, 'EKEYREJECTED');
        t.is(verifyModuleSignature(img, [pem], { rules: v612 }).errno, 'ENOPKG');
        const mod = img.slice();
        mod[1000] ^= 1;
        const m = verifyModuleSignature(mod, [pem], { rules: waiver });
        t.is(m.errno, 'EKEYREJECTED');
        t.regex(m.reason!, /messageDigest/);
        const sigBytes = img.slice();
        sigBytes[sigBytes.length - 40 - 100] ^= 1; // inside the ML-DSA signature, the message's last field
        const g = verifyModuleSignature(sigBytes, [pem], { rules: waiver });
        t.false(g.verified);
        t.is(g.errno, 'EKEYREJECTED');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
