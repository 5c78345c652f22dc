/**
 * The first step every signature verifier shares (node:crypto's in
 * signature-verify.ts, WebCrypto's in the web page): find the signature and
 * fill in what is known before any cryptography — or the final answer when
 * there is nothing to verify.
 */
import { KmodkitError } from '../errors.js';
import { hex } from '../bytes/reader.js';
import { findSignature, type ModuleSignature } from '../module/signature.js';
import type { VerifyResult } from './signature-verify.js';

export type SignatureToVerify = { sig: ModuleSignature; base: VerifyResult; done?: undefined } | { done: VerifyResult };

export function signatureToVerify(image: Uint8Array): SignatureToVerify {
  let sig: ModuleSignature | null;
  try {
    sig = findSignature(image);
  } catch (e) {
    if (e instanceof KmodkitError && e.code === 'ESIGNATURE') return { done: { verified: false, reason: `malformed signature: ${e.message}` } };
    throw e;
  }
  if (sig === null) return { done: { verified: false, reason: 'module is not signed' } };
  const base: VerifyResult = { verified: false, signer: sig.signer, keyId: hex(sig.keyId, ':'), hashAlgorithm: sig.hashAlgorithm };
  if (sig.signatureAlgorithm) base.signatureAlgorithm = sig.signatureAlgorithm;
  if (!sig.kernel.ok) base.warnings = [`the kernel would refuse this signature: ${sig.kernel.reason}`];
  return { sig, base };
}
