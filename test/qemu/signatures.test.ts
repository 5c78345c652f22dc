/**
 * QEMU tier, signatures (issues 27 item 5, 30 item 5): Debian 13's 6.12
 * kernel booted with module.sig_enforce=1 gets real modules signed several
 * ways, and each is loaded with busybox's insmod (a plain syscall, no
 * pre-flight). The kernel's answer is compared with what `kmodkit check`
 * predicted, online inside the guest (from /proc/keys and sig_enforce) and
 * offline on the host (from the image's built-in keys, --kernel-image).
 *
 * Why 6.12 (trixie): its modules are signed by a per-build key whose
 * certificate exists only inside the image (system_certificate_list) — the
 * offline prediction has to find it there; its config does not force
 * signatures, so module.sig_enforce=1 is what makes an untrusted key fatal
 * (EKEYREJECTED); it is the newest era Debian ships in a stable release and
 * boots faster under TCG than sid's 7.2, whose signature rules are the same
 * for RSA/ECDSA (no ML-DSA, no authattrs waiver in Debian's config).
 *
 * Cases, all built from dummy.ko of that kernel (its content unchanged):
 *   debian        Debian's own signature                       → loads
 *   self          re-signed with a throw-away key              → EKEYREJECTED
 *   debian+self   Debian's SignerInfo, then ours               → loads (one trusted signer suffices)
 *   debian+attrs  Debian's SignerInfo, then ours with signed attributes → EINVAL
 *   debian+bad    Debian's SignerInfo, then a corrupted copy of it      → EKEYREJECTED
 *   unsigned      no signature                                 → EKEYREJECTED
 *
 * Run just this file: npx tsc -p . && npx ava dist/test/qemu/signatures.test.js
 */
import test from 'ava';
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCorpus, type CorpusPackage } from '../corpus/cache.js';
import { decompressNative } from '../../lib/io/native/decompress.js';
import { findSignature } from '../../lib/module/signature.js';
import { derBytes, derDecode } from '../../lib/module/der.js';
import { KMODKIT_CLI } from '../corpus/harness.js';
import { run } from '../corpus/cache.js';
import { makeKey } from '../helpers/sign-file.js';
import { appendSignature, signedData, signerInfo, type BuiltSigner } from '../helpers/pkcs7-builder.js';
import { prepareVm, qemuAvailable, runInVm, vmTail, type VmEnv } from './vm.js';

const SLOT = 'trixie-amd64';
const ERRNO_TEXT: Record<string, string> = {
  'Key was rejected by service': 'EKEYREJECTED',
  'Invalid argument': 'EINVAL',
  'Bad message': 'EBADMSG',
  'Required key not available': 'ENOKEY',
  'Package not installed': 'ENOPKG',
  'Operation not permitted': 'EPERM',
  'File exists': 'EEXIST',
};
const EXPECTED: Record<string, string> = { debian: 'ok', self: 'EKEYREJECTED', 'debian+self': 'ok', 'debian+attrs': 'EINVAL', 'debian+bad': 'EKEYREJECTED', unsigned: 'EKEYREJECTED' };

/** The SignerInfo DER blocks of a module's PKCS#7 message. */
function signerInfoDers(p7: Uint8Array): Uint8Array[] {
  const sd = derDecode(p7).children[1].children[0];
  return sd.children[sd.children.length - 1].children.map((n) => derBytes(n).slice());
}

/** What `kmodkit check --format json` predicts for each file: 'ok' or the errno of the first signature error. */
function predictions(json: string): Record<string, string> {
  const doc = JSON.parse(json) as { results: Array<{ module: { path: string }; findings: Array<{ id: string; status: string; severity: string; errno?: string }> }> };
  const out: Record<string, string> = {};
  for (const r of doc.results) {
    const err = r.findings.find((f) => f.id.startsWith('signature.') && f.status === 'failed' && f.severity === 'error');
    out[path.basename(r.module.path, '.ko')] = err ? (err.errno ?? 'error') : 'ok';
  }
  return out;
}

const skipReason = !qemuAvailable() ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)' : undefined;
if (skipReason) {
  test.skip(`qemu signatures: sig_enforce=1 accepts/refuses as check predicts (${skipReason})`, () => {});
} else {
  test.serial('qemu signatures: the 6.12 kernel with module.sig_enforce=1 accepts and refuses exactly as check predicted (online from /proc/keys, offline from the image)', async (t) => {
    t.timeout(20 * 60_000);
    let pkg: CorpusPackage;
    try {
      [pkg] = (await ensureCorpus({ slots: [SLOT], compressStep: () => 0, log: (l) => t.log(l) })).packages;
    } catch (e) {
      const reason = `cannot fetch the ${SLOT} kernel (${(e as Error).message.split('\n')[0]})`;
      if (process.env.CI === 'true') return t.fail(reason);
      t.log(`SKIPPED: ${reason}`);
      return t.pass();
    }
    const vmlinuz = path.join(pkg.dir, 'boot', `vmlinuz-${pkg.release}`);
    const config = path.join(pkg.dir, 'boot', `config-${pkg.release}`);
    const dummyXz = path.join(pkg.modulesRoot, 'kernel/drivers/net/dummy.ko.xz');
    const image = (await decompressNative(new Uint8Array(fs.readFileSync(dummyXz)))).data;
    const sig = findSignature(image)!;
    const content = image.subarray(0, sig.moduleSize);
    const debianSi = signerInfoDers(image.subarray(sig.moduleSize, image.length - 40))[0];

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-qsig-'));
    try {
      const k = makeKey(dir, 'self', 'rsa');
      const self: BuiltSigner = { cert: new Uint8Array(fs.readFileSync(k.der)), key: createPrivateKey(fs.readFileSync(k.key)), hash: 'sha256' };
      const ours = signerInfo(content, self);
      const bad = debianSi.slice();
      bad[bad.length - 5] ^= 1; // inside the ECDSA signature value
      const files: Record<string, Uint8Array> = {
        debian: image,
        self: appendSignature(content, signedData([ours], ['sha256'])),
        'debian+self': appendSignature(content, signedData([debianSi, ours], ['sha256'])),
        'debian+attrs': appendSignature(content, signedData([debianSi, signerInfo(content, { ...self, attrs: {} })], ['sha256'])),
        'debian+bad': appendSignature(content, signedData([debianSi, bad], ['sha256'])),
        unsigned: content,
      };
      const hostFiles: string[] = [];
      const guest: Record<string, Uint8Array> = {};
      for (const [name, bytes] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, `${name}.ko`), bytes);
        hostFiles.push(path.join(dir, `${name}.ko`));
        guest[`/sig/${name}.ko`] = bytes;
      }
      guest['/sig-boot/vmlinuz'] = new Uint8Array(fs.readFileSync(vmlinuz));
      // offline prediction on the host: the image's built-in keys, enforcement given
      const off = await run(process.execPath, [KMODKIT_CLI, 'check', '--format', 'json', '-k', pkg.release, '-c', config, '--kernel-image', vmlinuz, '--sig-enforce', ...hostFiles]);
      const offline = predictions(off.stdout.toString());

      const names = Object.keys(files);
      const script = `K="node dist/cli/index.js"
echo "SIG uname $(uname -r)"
echo "SIG enforce $(cat /sys/module/module/parameters/sig_enforce)"
grep -E 'asymmetri|keyring +\\.(builtin|secondary|machine|platform)' /proc/keys | sed 's/^/SIG key /'
$K check --format json /sig/*.ko > /tmp/check.json 2>/tmp/check.err; echo "SIG check-rc $?"
echo "SIG json $(tr -d '\\n' < /tmp/check.json)"
mkdir -p /boot && cp /sig-boot/vmlinuz /boot/vmlinuz-$(uname -r)
$K check --format json /sig/*.ko > /tmp/check2.json 2>/tmp/check2.err; echo "SIG check2-rc $?"
echo "SIG json2 $(tr -d '\\n' < /tmp/check2.json)"
${names.map((n) => `insmod /sig/${n}.ko >/tmp/o 2>&1; echo "SIG load ${n} rc=$? $(tr '\\n' ' ' </tmp/o)"; rmmod dummy 2>/dev/null`).join('\n')}
dmesg | grep -iE 'pkcs7|module verification|rejected|authattr' | sed 's/^/SIG dmesg /' | tail -20
`;
      const vm0 = await prepareVm();
      const vm: VmEnv = { ...vm0, vmlinuz, config, release: pkg.release, packageVersion: pkg.version, modulesDir: pkg.modulesRoot };
      const r = await runInVm(script, { vm, files: guest, append: 'module.sig_enforce=1', timeoutMs: 10 * 60_000 });
      const lines = r.scriptOutput.split('\n').filter((l) => l.startsWith('SIG '));
      t.log(lines.filter((l) => !l.startsWith('SIG json')).join('\n'));
      if (r.exitCode !== 0) t.log(r.output.slice(-4000));
      t.is(r.exitCode, 0, `guest script finished; console tail:\n${vmTail(r)}`);
      t.is(lines.find((l) => l.startsWith('SIG uname '))?.slice('SIG uname '.length), pkg.release);
      t.regex(lines.find((l) => l.startsWith('SIG enforce ')) ?? '', /Y$/);
      const online = predictions(lines.find((l) => l.startsWith('SIG json '))?.slice(9) ?? '{"results":[]}');
      // the same check once the guest has its kernel image where a real system keeps it
      // (/boot/vmlinuz-RELEASE, read automatically online): the keys themselves, not their names
      const onlineImage = predictions(lines.find((l) => l.startsWith('SIG json2 '))?.slice(10) ?? '{"results":[]}');
      const kernel: Record<string, string> = {};
      for (const n of names) {
        const l = lines.find((x) => x.startsWith(`SIG load ${n} `)) ?? '';
        const m = /rc=(\d+) (.*)$/.exec(l);
        kernel[n] = m?.[1] === '0' ? 'ok' : (Object.entries(ERRNO_TEXT).find(([text]) => m?.[2].includes(text))?.[1] ?? `? ${m?.[2]}`);
      }
      const table = names.map((n) => `${n.padEnd(13)} kernel ${kernel[n].padEnd(13)} online ${String(online[n]).padEnd(13)} online+image ${String(onlineImage[n]).padEnd(13)} offline ${offline[n]}`).join('\n');
      console.log(`[qemu signatures] ${pkg.release}, accel ${r.accel}, boot ${r.bootSeconds?.toFixed(1)} s, run ${r.totalSeconds.toFixed(1)} s\n${table}`);
      t.log(table);
      for (const n of names) {
        t.is(kernel[n], EXPECTED[n], `${n}: the kernel's answer`);
        // /proc/keys shows a key's name and id, not the key: online, a corrupted copy of a trusted
        // SignerInfo is judged by name (loads); only a certificate or the image catches it (offline below).
        if (n === 'debian+bad') t.is(online[n], 'ok', `${n}: /proc/keys alone cannot check the signature bytes`);
        else t.is(online[n], kernel[n], `${n}: check in the guest (/proc/keys) predicted the kernel`);
        t.is(onlineImage[n], kernel[n], `${n}: check in the guest with /boot/vmlinuz-RELEASE predicted the kernel`);
        t.is(offline[n], kernel[n], `${n}: check offline (--kernel-image) predicted the kernel`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
