/**
 * The Node half of signing: turn sign-file's KEY (PEM private key) and CERT
 * (PEM or DER X.509) into a `ModuleSigner` backed by node:crypto. Checks what
 * sign-file's OpenSSL calls check: the key parses, the certificate parses,
 * and the key is the certificate's.
 */
import { X509Certificate, createHash, createPrivateKey, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { KmodkitError } from '../errors.js';
import type { ModuleSigner } from './sign-module.js';

function asBuffer(b: Uint8Array | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A PEM certificate (the first one) or DER, parsed. */
export function readCertificate(cert: Uint8Array | string): X509Certificate {
  try {
    return new X509Certificate(asBuffer(cert));
  } catch (e) {
    throw new KmodkitError('EINPUT', `not an X.509 certificate (PEM or DER): ${(e as Error).message}`, { cause: e });
  }
}

export function readPrivateKey(key: Uint8Array | string): KeyObject {
  try {
    return createPrivateKey({ key: asBuffer(key), format: 'pem' });
  } catch (e) {
    throw new KmodkitError('EINPUT', `cannot read the private key (PEM expected): ${(e as Error).message}`, { cause: e });
  }
}

/** A signer for `hash` with this key and certificate; EINPUT when they do not fit together. */
export function moduleSigner(hash: string, key: Uint8Array | string, cert: Uint8Array | string): ModuleSigner {
  const x509 = readCertificate(cert);
  const privateKey = readPrivateKey(key);
  try {
    createHash(hash);
  } catch {
    throw new KmodkitError('EINPUT', `unknown hash algorithm "${hash}"`);
  }
  const type = privateKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new KmodkitError('EINPUT', `unsupported key type ${type ?? 'unknown'} (RSA or ECDSA)`);
  if (!x509.checkPrivateKey(privateKey)) throw new KmodkitError('EINPUT', 'the private key does not match the certificate');
  return {
    hash,
    certificate: new Uint8Array(x509.raw),
    keyType: type,
    sign: (data) =>
      new Uint8Array(
        type === 'rsa'
          ? cryptoSign(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING })
          : cryptoSign(hash, data, { key: privateKey, dsaEncoding: 'der' }),
      ),
  };
}
