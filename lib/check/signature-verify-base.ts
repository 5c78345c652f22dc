/**
 * The first step every signature verifier shares (node:crypto's in
 * signature-verify.ts, WebCrypto's in the web page): find the signature and
 * fill in what is known before any cryptography — or the final answer when
 * there is nothing to verify. The result type both verifiers return is here
 * too, so that neither this file nor the pure target model imports the
 * node:crypto verifier.
 */
import { KmodkitError } from '../errors.js';
import { hex } from '../bytes/reader.js';
import { findSignature, type ModuleSignature } from '../module/signature.js';

export type CertificateInput = Uint8Array | string;

export interface VerifyResult {
  verified: boolean;
  /** why not verified (absent when verified) */
  reason?: string;
  /** the signer's name as modinfo shows it */
  signer?: string;
  /** the key id as modinfo shows it (serial number or SKID), "C0:FF:…" */
  keyId?: string;
  hashAlgorithm?: string;
  signatureAlgorithm?: string;
  /** the certificate whose key checked (or failed to check) the signature */
  certificate?: { subject: string; serial: string; fingerprint256: string };
  /** things that would make the kernel refuse the signature even though it verifies */
  warnings?: string[];
}

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
