/**
 * Module signing as the kernel's scripts/sign-file does it, minus the key
 * handling: the caller supplies a `ModuleSigner` (the certificate's DER and a
 * function that signs bytes with the matching private key; sign-key.ts makes
 * one with node:crypto). Pure: takes and returns bytes.
 *
 * What sign-file writes (OpenSSL CMS, flags NOCERTS | BINARY | DETACHED |
 * NOATTR | NOSMIMECAP), reproduced here field for field:
 *
 *   ContentInfo { signedData, [0] SignedData {
 *     version 1, digestAlgorithms { { hashOid } }           (no parameters)
 *     encapContentInfo { data }                             (detached: no content)
 *     signerInfos { { version 1,
 *       issuerAndSerialNumber { issuer Name as in the cert, serial as in the cert },
 *       digestAlgorithm { hashOid },
 *       signatureAlgorithm { rsaEncryption, NULL } | { ecdsa-with-HASH },
 *       signature OCTET STRING } } } }
 *
 * then `struct module_signature` (id_type PKEY_ID_PKCS7, all lengths 0
 * except sig_len, big-endian) and the "~Module signature appended~\n" marker.
 * No signed attributes, so RSA PKCS#1 v1.5 output is deterministic and the
 * whole file equals sign-file's byte for byte.
 */
import { KmodkitError } from '../errors.js';
import { parseX509 } from '../module/x509.js';
import { OID_DATA, OID_SIGNED_DATA } from '../module/pkcs7.js';
import { findSignature, SIGNATURE_MARKER } from '../module/signature.js';
import { isModuleImage } from './module-image.js';
import { derExplicit, derImplicitPrimitive, derNull, derObjectIdentifier, derOctetString, derSequence, derSet, derSmallInteger, derTlv } from './der-writer.js';

export type SigningKeyType = 'rsa' | 'ec';

/** What signing needs from a key: the certificate and a way to sign with its private key. */
export interface ModuleSigner {
  /** digest name as sign-file takes it: sha256, sha384, sha512, … */
  hash: string;
  /** the X.509 certificate, DER */
  certificate: Uint8Array;
  keyType: SigningKeyType;
  /** signature over `data` with `hash` (RSA PKCS#1 v1.5, or DER-encoded ECDSA) */
  sign(data: Uint8Array): Uint8Array;
  /** name the signer by subjectKeyIdentifier instead of issuer + serial (sign-file -k) */
  useKeyId?: boolean;
}

export interface SignOptions {
  /** sign a module that is signed already (its signature is replaced); else that is an error */
  resign?: boolean;
}

export interface SignedModule {
  /** the module with the signature appended */
  image: Uint8Array;
  /** the PKCS#7 SignedData alone (what `sign-file -d` / `-p` writes to MODULE.p7s) */
  pkcs7: Uint8Array;
}

/** Digest OIDs (NIST / OIW), by the names sign-file accepts. */
export const DIGEST_OIDS: Record<string, string> = {
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  'sha3-256': '2.16.840.1.101.3.4.2.8',
  'sha3-384': '2.16.840.1.101.3.4.2.9',
  'sha3-512': '2.16.840.1.101.3.4.2.10',
};

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

/** ecdsa-with-<hash> (RFC 5758, NIST for SHA-3). */
const ECDSA_OIDS: Record<string, string> = {
  sha1: '1.2.840.10045.4.1',
  sha224: '1.2.840.10045.4.3.1',
  sha256: '1.2.840.10045.4.3.2',
  sha384: '1.2.840.10045.4.3.3',
  sha512: '1.2.840.10045.4.3.4',
  'sha3-256': '2.16.840.1.101.3.4.3.10',
  'sha3-384': '2.16.840.1.101.3.4.3.11',
  'sha3-512': '2.16.840.1.101.3.4.3.12',
};

/** PKEY_ID_PKCS7 in struct module_signature's id_type. */
const PKEY_ID_PKCS7 = 2;

const MARKER = new TextEncoder().encode(SIGNATURE_MARKER);

/** The certificate's issuer Name and serialNumber INTEGER, each as its DER TLV, and its subjectKeyIdentifier (lib/module/x509.ts reads it). */
function certificateIds(cert: Uint8Array): { issuer: Uint8Array; serial: Uint8Array; skid?: Uint8Array } {
  const c = parseX509(cert);
  return { serial: derTlv(0x02, c.serial), issuer: c.issuer.der, ...(c.skid ? { skid: c.skid } : {}) };
}

/** The PKCS#7 SignedData sign-file writes for a module image. */
export function moduleSignedData(image: Uint8Array, signer: ModuleSigner): Uint8Array {
  const digestOid = DIGEST_OIDS[signer.hash];
  if (!digestOid) throw new KmodkitError('EINPUT', `unsupported hash algorithm "${signer.hash}" (one of ${Object.keys(DIGEST_OIDS).join(', ')})`);
  const sigAlg =
    signer.keyType === 'rsa'
      ? derSequence(derObjectIdentifier(OID_RSA_ENCRYPTION), derNull())
      : derSequence(derObjectIdentifier(ECDSA_OIDS[signer.hash]));
  const { issuer, serial, skid } = certificateIds(signer.certificate);
  if (signer.useKeyId && !skid) throw new KmodkitError('EINPUT', 'the certificate has no subjectKeyIdentifier (needed to sign with -k)');
  // CMS: version 3 with a subjectKeyIdentifier SignerIdentifier, else 1 (RFC 5652 5.1, 5.3)
  const version = signer.useKeyId ? 3 : 1;
  const digestAlg = derSequence(derObjectIdentifier(digestOid));
  const signerInfo = derSequence(
    derSmallInteger(version),
    signer.useKeyId ? derImplicitPrimitive(0, skid!) : derSequence(issuer, serial),
    digestAlg,
    sigAlg,
    derOctetString(signer.sign(image)),
  );
  const signedData = derSequence(
    derSmallInteger(version),
    derSet(digestAlg),
    derSequence(derObjectIdentifier(OID_DATA)),
    derSet(signerInfo),
  );
  return derSequence(derObjectIdentifier(OID_SIGNED_DATA), derExplicit(0, signedData));
}

/** struct module_signature for a PKCS#7 blob of `sigLen` bytes, then the marker. */
export function moduleSignatureTrailer(sigLen: number): Uint8Array {
  const out = new Uint8Array(12 + MARKER.length);
  out[2] = PKEY_ID_PKCS7; // algo 0, hash 0, id_type, signer_len 0, key_id_len 0, pad[3]
  new DataView(out.buffer).setUint32(8, sigLen, false);
  out.set(MARKER, 12);
  return out;
}

/** The image without its appended signature (the image itself when unsigned). */
export function unsignedImage(image: Uint8Array): Uint8Array {
  const sig = findSignature(image);
  return sig === null ? image : image.subarray(0, sig.moduleSize);
}

/** Sign a decompressed module image as `sign-file HASH KEY CERT MODULE` does. */
export function signModuleImage(image: Uint8Array, signer: ModuleSigner, options: SignOptions = {}): SignedModule {
  if (!isModuleImage(image)) throw new KmodkitError('EFORMAT', 'not a kernel module (no ELF header with a .modinfo section)');
  let content = image;
  if (findSignature(image) !== null) {
    if (!options.resign) throw new KmodkitError('EINPUT', 'module is already signed (re-sign to replace the signature)');
    content = unsignedImage(image);
  }
  const pkcs7 = moduleSignedData(content, signer);
  const trailer = moduleSignatureTrailer(pkcs7.length);
  const out = new Uint8Array(content.length + pkcs7.length + trailer.length);
  out.set(content, 0);
  out.set(pkcs7, content.length);
  out.set(trailer, content.length + pkcs7.length);
  return { image: out, pkcs7 };
}
