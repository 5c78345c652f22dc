/**
 * Hand-built PKCS#7 module signatures for what sign-file never writes:
 * several SignerInfos, signed attributes (with a right or wrong
 * messageDigest), the same SignerInfo repeated, ML-DSA signers. Keys are
 * node:crypto KeyObjects (RSA/EC) or raw ML-DSA secret keys (noble).
 */
import { createHash, sign as nodeSign, type KeyObject } from 'node:crypto';
import { derExplicit, derNull, derObjectIdentifier, derOctetString, derSequence, derSet, derSmallInteger, derTlv } from '../../lib/prepare/der-writer.js';
import { DIGEST_OIDS, moduleSignatureTrailer } from '../../lib/prepare/sign-module.js';
import { OID_DATA, OID_SIGNED_DATA } from '../../lib/module/pkcs7.js';
import { parseX509 } from '../../lib/module/x509.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

export const OID_MLDSA = { 'ml-dsa-44': '2.16.840.1.101.3.4.3.17', 'ml-dsa-65': '2.16.840.1.101.3.4.3.18', 'ml-dsa-87': '2.16.840.1.101.3.4.3.19' } as const;
export type MlDsaName = keyof typeof OID_MLDSA;
const MLDSA = { 'ml-dsa-44': ml_dsa44, 'ml-dsa-65': ml_dsa65, 'ml-dsa-87': ml_dsa87 };

export interface BuiltSigner {
  /** DER certificate */
  cert: Uint8Array;
  /** RSA or EC private key, or an ML-DSA secret key */
  key: KeyObject | { mldsa: MlDsaName; secretKey: Uint8Array };
  hash: string;
  /** signed attributes: contentType + messageDigest (override the digest to make it wrong) */
  attrs?: { messageDigest?: Uint8Array };
  /** name the key by subjectKeyIdentifier */
  skid?: boolean;
}

const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';

function signBytes(s: BuiltSigner, data: Uint8Array): Uint8Array {
  if ('mldsa' in s.key) return MLDSA[s.key.mldsa].sign(data, s.key.secretKey);
  return new Uint8Array(nodeSign(s.hash, data, s.key.asymmetricKeyType === 'ec' ? { key: s.key, dsaEncoding: 'der' } : s.key));
}

function sigAlgorithm(s: BuiltSigner): Uint8Array {
  if ('mldsa' in s.key) return derSequence(derObjectIdentifier(OID_MLDSA[s.key.mldsa]));
  if (s.key.asymmetricKeyType === 'ec') return derSequence(derObjectIdentifier(s.hash === 'sha384' ? '1.2.840.10045.4.3.3' : s.hash === 'sha512' ? '1.2.840.10045.4.3.4' : '1.2.840.10045.4.3.2'));
  return derSequence(derObjectIdentifier('1.2.840.113549.1.1.1'), derNull());
}

/** One SignerInfo over `content`. */
export function signerInfo(content: Uint8Array, s: BuiltSigner): Uint8Array {
  const c = parseX509(s.cert);
  const digestAlg = derSequence(derObjectIdentifier(DIGEST_OIDS[s.hash]));
  const sid = s.skid ? derTlv(0x80, c.skid!) : derSequence(c.issuer.der, derTlv(0x02, c.serial));
  const parts: Uint8Array[] = [derSmallInteger(s.skid ? 3 : 1), sid, digestAlg];
  let signature: Uint8Array;
  if (s.attrs) {
    const md = s.attrs.messageDigest ?? new Uint8Array(createHash(s.hash).update(content).digest());
    const attrs = [
      derSequence(derObjectIdentifier(OID_CONTENT_TYPE), derSet(derObjectIdentifier(OID_DATA))),
      derSequence(derObjectIdentifier(OID_MESSAGE_DIGEST), derSet(derOctetString(md))),
    ];
    const set = derSet(...attrs);
    parts.push(derTlv(0xa0, ...attrs));
    signature = signBytes(s, set);
  } else {
    signature = signBytes(s, content);
  }
  parts.push(sigAlgorithm(s), derOctetString(signature));
  return derSequence(...parts);
}

/** SignedData over `content` with these SignerInfos (DER each), as a ContentInfo. */
export function signedData(infos: Uint8Array[], hashes: string[], certs: Uint8Array[] = []): Uint8Array {
  const digestAlgs = [...new Set(hashes)].map((h) => derSequence(derObjectIdentifier(DIGEST_OIDS[h])));
  const fields = [derSmallInteger(1), derSet(...digestAlgs), derSequence(derObjectIdentifier(OID_DATA))];
  if (certs.length) fields.push(derTlv(0xa0, ...certs));
  fields.push(derSet(...infos));
  return derSequence(derObjectIdentifier(OID_SIGNED_DATA), derExplicit(0, derSequence(...fields)));
}

/** `content` with a PKCS#7 trailer made of these SignerInfos. */
export function appendSignature(content: Uint8Array, p7: Uint8Array): Uint8Array {
  const t = moduleSignatureTrailer(p7.length);
  const out = new Uint8Array(content.length + p7.length + t.length);
  out.set(content);
  out.set(p7, content.length);
  out.set(t, content.length + p7.length);
  return out;
}

/** Sign `content` with several signers (each SignerInfo `repeat` times). */
export function multiSigned(content: Uint8Array, signers: BuiltSigner[], repeat = 1): Uint8Array {
  const infos: Uint8Array[] = [];
  for (const s of signers) {
    const si = signerInfo(content, s);
    for (let i = 0; i < repeat; i++) infos.push(si);
  }
  return appendSignature(content, signedData(infos, signers.map((s) => s.hash)));
}

/** A minimal self-signed-looking X.509 certificate for an ML-DSA public key (the signature field is not checked by anyone here). */
export function mlDsaCertificate(name: MlDsaName, publicKey: Uint8Array, cn: string, serial = 7): Uint8Array {
  const alg = derSequence(derObjectIdentifier(OID_MLDSA[name]));
  const nameDer = derSequence(derSet(derSequence(derObjectIdentifier('2.5.4.3'), derTlv(0x0c, new TextEncoder().encode(cn)))));
  const time = (s: string) => derTlv(0x17, new TextEncoder().encode(s));
  const spki = derSequence(alg, derTlv(0x03, new Uint8Array([0, ...publicKey])));
  const tbs = derSequence(derExplicit(0, derSmallInteger(2)), derSmallInteger(serial), alg, nameDer, derSequence(time('260101000000Z'), time('360101000000Z')), nameDer, spki);
  return derSequence(tbs, alg, derTlv(0x03, new Uint8Array([0, 1, 2, 3])));
}
