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
import { failed, passed, skipped, type Finding } from '../findings.js';
import { signatureRules, type VerifyResult } from '../signature-verify-base.js';
import { predictTrust, trustedCerts, type TrustedKeySet } from '../trust.js';
import { parseCertificates } from '../../module/x509.js';
import type { TargetKernel } from '../target.js';
import type { CheckContext } from './context.js';

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

export async function checkSignature(ctx: CheckContext): Promise<Finding[]> {
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
  const enforced = t.sigEnforce === true;
  const locked = t.lockdown === 'integrity' || t.lockdown === 'confidentiality';
  const strict = enforced || locked;
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

  const rules = signatureRules(t.release, t.config);
  let keys: TrustedKeySet;
  let r: VerifyResult;
  try {
    keys = await targetKeys(t, ctx.input('certs'));
    r = t.verifySignature(readAll(ctx.mod.source), trustedCerts(keys), { rules });
  } catch (e) {
    if (!(e instanceof KmodkitError)) throw e;
    // not the kernel's verdict (it would examine them all): kmodkit refuses to judge past its bounds
    out.push(failed('signature.invalid', `signature not judged: ${e.message}`, { hint: 'a module signature from sign-file has one SignerInfo' }));
    return out;
  }
  const p = predictTrust(sig, r, keys, { ...(t.sigEnforce !== undefined ? { sigEnforce: t.sigEnforce } : {}), ...(t.lockdown !== undefined ? { lockdown: t.lockdown } : {}), ...(t.moduleSig !== undefined ? { moduleSig: t.moduleSig } : {}) }, `${ctx.input('certs')}, ${ctx.input('kernelImage')}`);
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
    out.push(skipped('signature.untrusted', `signed by '${sig.signer}'; the keys the target trusts are unknown: ${keys.missing.join('; ') || 'no trust source'}`, { hint: `pass ${ctx.input('certs')} or ${ctx.input('kernelImage')} (or run as root on the target: /proc/keys)`, ...(trustDecides ? { missing: ['certs' as const] } : {}) }));
    return out;
  }
  const src = keys.sources.join(', ');
  switch (p.decision) {
    case 'loads':
      out.push(passed('signature.untrusted', `${p.reason} [${src}]${p.confidence === 'name' ? ` (by name: confirm with ${ctx.input('kernelImage')} or ${ctx.input('certs')})` : ''}`));
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
