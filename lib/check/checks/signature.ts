/**
 * Signatures against the target's policy (module_sig_check()):
 * unsigned / unknown key / unsupported crypto are refused only under
 * enforcement (sig_enforce) or lockdown, and taint E otherwise; a trailer the
 * kernel finds malformed, or a signature that does not verify with the
 * signer's own key, is refused always.
 */
import { readAll } from '../../bytes/source.js';
import { KmodkitError } from '../../errors.js';
import { moduleSignature } from '../../module/module.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

export function checkSignature(ctx: CheckContext): Finding[] {
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
    else if (t.sigEnforce === undefined && t.lockdown === undefined) out.push(skipped('signature.missing', `module is not signed; ${t.missing.sigEnforce ?? 'signature enforcement unknown'}`, { hint: 'pass --sig-enforce yes|no' }));
    else out.push(passed('signature.missing', 'module is not signed; the target does not enforce signatures (it will taint E)'));
    out.push(skipped('signature.invalid', 'module is not signed'));
    return out;
  }
  out.push(passed('signature.missing', `module is signed (${sig.idType}, ${sig.hashAlgorithm}, signer '${sig.signer}')`));
  if (!sig.kernel.ok) {
    const fatal = sig.kernel.errno === 'EBADMSG' || strict;
    out.push(failed('signature.invalid', `the kernel rejects this signature trailer: ${sig.kernel.reason}`, { errno: sig.kernel.errno === 'EBADMSG' ? 'EBADMSG' : strict ? 'EKEYREJECTED' : sig.kernel.errno, ...(fatal ? {} : { severity: 'warning' as const }), hint: 'sign the module with the sign-file of the target kernel (PKCS#7, no signed attributes)' }));
    return out;
  }
  if (!t.certs || t.certs.length === 0 || !t.verifySignature) {
    out.push(skipped('signature.invalid', `signature format accepted by the kernel; not verified cryptographically: ${t.missing.certs ?? (t.verifySignature ? 'no certificates' : 'no verifier in this environment')}`, { hint: 'pass --cert with the target\'s signing certificate(s)' }));
    return out;
  }
  const r = t.verifySignature(readAll(ctx.mod.source), [...t.certs]);
  if (r.verified) {
    out.push(passed('signature.invalid', `signature verifies with ${r.certificate?.subject ?? 'a given certificate'}`));
    if (r.warnings?.length) out.push(failed('signature.invalid', r.warnings.join('; '), { severity: 'warning' }));
    return out;
  }
  if (r.certificate) {
    // The signer's key is known and the signature does not check: tampered or corrupt. Always fatal.
    out.push(failed('signature.invalid', `signature does not verify with the signer's certificate ${r.certificate.subject}: ${r.reason}`, { errno: 'EKEYREJECTED', hint: 'the module was modified after signing; re-sign it' }));
  } else {
    const msg = `module is signed by '${r.signer ?? sig.signer}' (key ${r.keyId ?? '?'}), which none of the given certificates is: ${r.reason}`;
    if (strict) out.push(failed('signature.untrusted', msg, { errno: 'EKEYREJECTED', hint: 'sign with a key in the target\'s keyrings, or enrol this key' }));
    else out.push(failed('signature.untrusted', `${msg}; the target does not enforce signatures, so it loads and taints E`, { severity: 'warning' }));
  }
  return out;
}
