/**
 * ML-DSA (FIPS 204) signature checks in pure JavaScript, for runtimes whose
 * own crypto has none (node:crypto before OpenSSL 3.5, browsers' WebCrypto):
 * @noble/post-quantum, loaded only when a module carries an ML-DSA
 * signature (importing it costs ~35 ms; a verification ~13 ms for
 * ML-DSA-65 on this machine; 24 KB minified in the page).
 *
 * The kernel signs modules with pure ML-DSA and an empty context (the CMS
 * profile of RFC 9882), over the signed attributes or the module itself.
 */
import type { PublicKeyAlgorithm } from '../module/x509.js';

interface MlDsaScheme {
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The parts of '@noble/post-quantum/ml-dsa.js' used here. */
export interface MlDsaModule {
  ml_dsa44: MlDsaScheme;
  ml_dsa65: MlDsaScheme;
  ml_dsa87: MlDsaScheme;
}

export const MLDSA_MODULE = '@noble/post-quantum/ml-dsa.js';

/** Load the implementation (async: dynamic import; the Node layer may load it synchronously). */
export async function loadMlDsa(): Promise<MlDsaModule> {
  return (await import('@noble/post-quantum/ml-dsa.js')) as unknown as MlDsaModule;
}

/** Verify a pure ML-DSA signature (empty context); false for a malformed key or signature. */
export function mlDsaVerify(mod: MlDsaModule, algorithm: PublicKeyAlgorithm, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const scheme = algorithm === 'ml-dsa-44' ? mod.ml_dsa44 : algorithm === 'ml-dsa-65' ? mod.ml_dsa65 : algorithm === 'ml-dsa-87' ? mod.ml_dsa87 : undefined;
  if (!scheme) return false;
  try {
    return scheme.verify(signature, data, publicKey);
  } catch {
    return false;
  }
}
