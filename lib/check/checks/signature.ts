/**
 * Signatures against the target's policy (module_sig_check()) and keys:
 * the message is judged with the target era's rules (signature-verify-base.ts:
 * every SignerInfo, signed attributes, digests) and the signer's key looked
 * up among the keys the target trusts (trust.ts: --trusted-cert, the built-in
 * list of its kernel image, /proc/keys). What the kernel refuses whatever the
 * policy (a malformed trailer, EBADMSG/EINVAL/EKEYREJECTED) is an error
 * always; an unsigned module, an unknown key (ENOKEY) or unsupported crypto
 * (ENOPKG) is an error under enforcement (sig_enforce, lockdown) and a
 * taint warning otherwise.
 */
import { readAll } from '../../bytes/source.js';
import { KmodkitError } from '../../errors.js';
import { moduleSignature } from '../../module/module.js';
import { findSignature, signatureTail, type ModuleSignature } from '../../module/signature.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import { MAX_SIGNER_INFOS, contentDecides, pkeyFamily, signatureRules, type VerifyResult } from '../signature-verify-base.js';
import { predictTrust, trustedCerts, type TrustedKeySet } from '../trust.js';
import { parseCertificates } from '../../module/x509.js';
import type { TargetKernel } from '../target.js';
import type { CheckContext, NeedsCompanions } from './context.js';

/** The target's trusted keys: its trust sources (image, /proc/keys) and the certificates given with it. */
async function targetKeys(t: TargetKernel, certsName: string): Promise<TrustedKeySet> {
  const loaded: TrustedKeySet = t.trustedKeys ? await t.trustedKeys() : { keys: [], sources: [], missing: [] };
  const given = t.certs?.length ? parseCertificates(t.certs) : [];
  const source = `certificates given (${t.sources.certs ?? certsName})`;
  return {
    ...loaded,
    keys: [...given.map((cert) => ({ source, cert })), ...loaded.keys],
    sources: [...(given.length ? [source] : []), ...loaded.sources],
    missing: given.length || loaded.sources.length ? loaded.missing : [t.missing.certs ?? 'no certificates given', ...loaded.missing],
  };
}

/** Whether the target enforces signatures: module.sig_enforce, or lockdown (which refuses unsigned modules too). */
function enforcement(t: TargetKernel): { enforced: boolean; strict: boolean } {
  const enforced = t.sigEnforce === true;
  return { enforced, strict: enforced || t.lockdown === 'integrity' || t.lockdown === 'confidentiality' };
}

export async function checkSignature(ctx: CheckContext): Promise<Finding[] | NeedsCompanions<SignatureWait>> {
  const t = ctx.target;
  const out: Finding[] = [];
  let sig;
  try {
    // decoded once per module (cached); only verification below needs the whole image
    sig = moduleSignature(ctx.mod, ctx.opts.pkcs7Memo);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    return [failed('signature.invalid', `signature trailer is malformed: ${e.message}`, { errno: 'EBADMSG' })];
  }
  const { enforced, strict } = enforcement(t);
  const why = enforced ? 'signature enforcement (module.sig_enforce)' : `lockdown (${t.lockdown})`;
  if (t.moduleSig === false && !strict) {
    out.push(passed('signature.missing', 'the target kernel does not check module signatures (no CONFIG_MODULE_SIG)'));
    return out;
  }
  if (!sig) {
    if (strict) out.push(failed('signature.missing', `module is not signed and the target requires signatures: ${why}`, { errno: enforced ? 'EKEYREJECTED' : 'EPERM', hint: 'sign it with scripts/sign-file using a key the target trusts (or enrol your key with MOK)' }));
    else if (t.sigEnforce === undefined && t.lockdown === undefined) out.push(skipped('signature.missing', `module is not signed; ${t.missing.sigEnforce ?? 'signature enforcement unknown'}`, { hint: `pass ${ctx.input('sigEnforce')}`, missing: ['sigEnforce'] }));
    else out.push(passed('signature.missing', 'module is not signed; the target does not enforce signatures (it will taint E)'));
    out.push(skipped('signature.invalid', 'module is not signed'));
    return out;
  }
  out.push(passed('signature.missing', `module is signed (${sig.idType}, ${sig.hashAlgorithm}, signer '${sig.signer}')`));
  if (!t.verifySignature) {
    out.push(skipped('signature.invalid', 'not verified: no verifier in this environment'));
    return out;
  }

  const certsName = ctx.input('certs');
  const imageName = ctx.input('kernelImage');
  const names: SignatureNames = { certsName, imageName };
  if (t.moduleDigests && deferrable(sig) && (await keysPending(t))) {
    // The keys are still being read (a kernel image decoding): keep the digests and the trailer, judge in finish.
    const image = readAll(ctx.mod.source);
    const hashes = [...new Set(sig.pkcs7!.signerInfos.map((si) => si.digestAlgorithm.name))];
    // the trailer and the byte before it (the kernel's "anything left to sign" check needs one)
    const wait: SignatureWait = { found: out, tail: image.slice(sig.moduleSize - 1), tailStart: sig.moduleSize - 1, digests: t.moduleDigests(image.subarray(0, sig.moduleSize), hashes), ...names };
    return { needs: 'keys', state: wait };
  }
  let keys: TrustedKeySet | undefined;
  try {
    keys = await targetKeys(t, certsName);
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e; // judgeSignature reports it
  }
  if (keys && t.moduleDigests && deferrable(sig) && !contentDecides(sig.pkcs7!, trustedCerts(keys))) {
    // No key the verdict could turn on (the signer is not among them, no signed attributes, no certificate
    // in the message): judged from the trailer alone; the module's content is neither read nor hashed.
    const tail = signatureTail(ctx.mod.source);
    return judgeSignature(t, { ...sig, moduleSize: sig.moduleSize - tail.start }, tail.bytes, out, names, { keys, digests: new Map(), tailStart: tail.start });
  }
  return judgeSignature(t, sig, readAll(ctx.mod.source), out, names, keys ? { keys } : {});
}

/** What a result's hints call the target's inputs: its certificates and its kernel image. */
interface SignatureNames {
  readonly certsName: string;
  readonly imageName: string;
}

/** What a signature check keeps while the target's keys are read: plain data, the module's digests and its trailer only. */
export interface SignatureWait extends SignatureNames {
  /** Findings so far (the module is signed). */
  readonly found: readonly Finding[];
  /** The image's end from `tailStart` on: the last byte of the signed content, PKCS#7 message, struct module_signature, marker. */
  readonly tail: Uint8Array;
  readonly tailStart: number;
  /** The content's digest with each SignerInfo's algorithm. */
  readonly digests: ReadonlyMap<string, Uint8Array | null>;
}

/** Whether the target's keys are still being read (a settled promise wins the race: its reaction is queued first). */
async function keysPending(t: TargetKernel): Promise<boolean> {
  if (!t.trustedKeys) return false;
  const PENDING = Symbol('pending');
  try {
    return (await Promise.race([t.trustedKeys(), Promise.resolve(PENDING)])) === PENDING;
  } catch {
    return false; // judged now: the same error reaches judgeSignature
  }
}

/** A message whose verification needs only the content's digests: PKCS#7, RSA SignerInfos, within kmodkit's bounds. */
function deferrable(sig: ModuleSignature): boolean {
  const p7 = sig.pkcs7;
  return sig.idType === 'PKCS#7' && p7 !== undefined && sig.moduleSize > 0 && p7.signerInfos.length > 0 && p7.signerInfos.length <= MAX_SIGNER_INFOS && p7.signerInfos.every((si) => pkeyFamily(si.signatureAlgorithm.name) === 'rsa');
}

/** The deferred check, once the keys are known: the kept tail verified with the kept digests. */
export function finishSignature(t: TargetKernel, wait: SignatureWait): Promise<Finding[]> {
  const sig = findSignature(wait.tail);
  if (!sig) throw new Error('internal: a kept signature trailer no longer decodes');
  return judgeSignature(t, sig, wait.tail, [...wait.found], wait, { digests: wait.digests, tailStart: wait.tailStart });
}

/**
 * Verification against the target's keys and the trust findings. `sig`: the signature of `image` (its
 * moduleSize counted from `image`'s start), handed to the verifier rather than decoded again.
 * `known.digests`: the content's, computed before (`image` may then be only the image's end, from
 * `known.tailStart` on); `known.keys`: the target's keys, read already.
 */
async function judgeSignature(
  t: TargetKernel,
  sig: ModuleSignature,
  image: Uint8Array,
  out: Finding[],
  { certsName, imageName }: SignatureNames,
  known: { keys?: TrustedKeySet; digests?: ReadonlyMap<string, Uint8Array | null>; tailStart?: number },
): Promise<Finding[]> {
  const { enforced, strict } = enforcement(t);
  const rules = signatureRules(t.release, t.config);
  let keys: TrustedKeySet;
  let r: VerifyResult;
  try {
    keys = known.keys ?? (await targetKeys(t, certsName));
    r = t.verifySignature!(image, trustedCerts(keys), { rules, signature: sig, ...(known.digests ? { digests: known.digests, tailStart: known.tailStart ?? 0 } : {}) });
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    // not the kernel's verdict (it would examine them all): kmodkit refuses to judge past its bounds
    out.push(failed('signature.invalid', `signature not judged: ${e.message}`, { hint: 'a module signature from sign-file has one SignerInfo' }));
    return out;
  }
  const p = predictTrust(sig, r, keys, { ...(t.sigEnforce !== undefined ? { sigEnforce: t.sigEnforce } : {}), ...(t.lockdown !== undefined ? { lockdown: t.lockdown } : {}), ...(t.moduleSig !== undefined ? { moduleSig: t.moduleSig } : {}) }, `${certsName}, ${imageName}`);
  // An unknown key decides the load where signatures may be enforced: unknown trust is then a missing input.
  const trustDecides = strict || (t.sigEnforce === undefined && t.lockdown === undefined);

  // what the kernel refuses whatever the keys: the message itself
  const messageErrno = r.errno && r.errno !== 'ENOKEY' && r.errno !== 'ENOPKG' && r.errno !== 'ENODATA' ? r.errno : undefined;
  if (messageErrno && !(messageErrno === 'EKEYREJECTED' && r.certificate)) {
    out.push(failed('signature.invalid', `the kernel refuses this signature (${messageErrno}): ${r.reason}`, { errno: messageErrno === 'EINVAL' ? 'EINVAL' : messageErrno, hint: `rules: ${rules.basis}; sign the module again with the target's sign-file (one SignerInfo, no signed attributes unless ML-DSA on 7.x)` }));
    return out;
  }
  if (r.errno === 'ENOPKG') {
    const msg = `the target kernel cannot check this signature (unsupported crypto): ${r.reason}`;
    out.push(strict ? failed('signature.invalid', msg, { errno: enforced ? 'EKEYREJECTED' : 'EPERM' }) : failed('signature.invalid', `${msg}; it loads and taints E`, { severity: 'warning' }));
    return out;
  }
  if (r.errno === 'EKEYREJECTED' && r.certificate) {
    // The signer's key is known and the signature does not check: tampered or corrupt. Always fatal.
    out.push(failed('signature.invalid', `signature does not verify with the signer's certificate ${r.certificate.subject}: ${r.reason}`, { errno: 'EKEYREJECTED', hint: 'the module was modified after signing; re-sign it' }));
    return out;
  }
  if (r.verified) out.push(passed('signature.invalid', `signature verifies with ${r.certificate?.subject ?? 'a trusted certificate'} (${rules.basis})`));
  else out.push(passed('signature.invalid', `the signature's form is accepted by the target (${rules.basis}); its key is judged below`));
  if (r.warnings?.length) out.push(failed('signature.invalid', r.warnings.join('; '), { severity: 'warning' }));

  // trust
  if (keys.sources.length === 0) {
    out.push(skipped('signature.untrusted', `signed by '${sig.signer}'; the keys the target trusts are unknown: ${keys.missing.join('; ') || 'no trust source'}`, { hint: `pass ${certsName} or ${imageName} (or run as root on the target: /proc/keys)`, ...(trustDecides ? { missing: ['certs' as const] } : {}) }));
    return out;
  }
  const src = keys.sources.join(', ');
  switch (p.decision) {
    case 'loads':
      out.push(passed('signature.untrusted', `${p.reason} [${src}]${p.confidence === 'name' ? ` (by name: confirm with ${imageName} or ${certsName})` : ''}`));
      break;
    case 'refused':
      out.push(failed('signature.untrusted', `${p.reason}: the kernel refuses it (${p.errno})`, { errno: p.errno === 'EPERM' ? 'EPERM' : 'EKEYREJECTED', ...(p.hint ? { hint: p.hint } : {}) }));
      break;
    case 'tainted':
      out.push(failed('signature.untrusted', p.reason, { severity: 'warning', ...(p.hint ? { hint: p.hint } : {}) }));
      break;
    default:
      // 'unknown': whether signatures are enforced is not known, or the signature could not be checked here
      out.push(skipped('signature.untrusted', p.reason, { ...(p.hint ? { hint: p.hint } : {}), ...(t.sigEnforce === undefined && t.lockdown === undefined ? { missing: ['sigEnforce' as const] } : {}) }));
  }
  return out;
}
