/**
 * The keys a target kernel trusts for module signatures, as plain data: what
 * lib/io/trusted-keys.ts reads (a kernel image's built-in list, /proc/keys,
 * --trusted-cert) and lib/check/trust.ts judges a signer against. Its own
 * file so that the target model (target.ts) and the trust rules (trust.ts)
 * both name it without importing each other.
 */
import { parseX509, type X509Certificate } from '../module/x509.js';

export type Keyring = '.builtin_trusted_keys' | '.secondary_trusted_keys' | '.machine' | '.platform';

/** A key as /proc/keys lists it (type asymmetric). */
export interface ListedKey {
  /** key serial (hex, as printed) */
  serial: string;
  /** the whole description */
  description: string;
  /** the kernel's subject name (the description before ": <hex>") */
  subject: string;
  /** subjectKeyIdentifier, or serial number when the certificate has none (lower-case hex) */
  keyId: string;
  /** X509.rsa, X509.ecdsa … */
  kind?: string;
}

export interface TrustedKey {
  /** where it was found: "kernel image /boot/vmlinuz-…", "--trusted-cert FILE", "/proc/keys" */
  source: string;
  /** the keyring when known (built-in list of an image: .builtin_trusted_keys) */
  keyring?: Keyring;
  cert?: X509Certificate;
  listed?: ListedKey;
}

/** What the target trusts, and what could not be read. */
export interface TrustedKeySet {
  keys: TrustedKey[];
  /** keyring name → number of keys it holds (/proc/keys), when known */
  keyrings?: Partial<Record<Keyring, number>>;
  sources: string[];
  missing: string[];
}

/**
 * A key set as another thread receives it: certificates as copies of their
 * DER (a decoded certificate's fields view the bytes it came from, e.g. a
 * whole decompressed kernel), parsed again by decodeTrustedKeys().
 */
export interface EncodedTrustedKeys {
  readonly keys: readonly { readonly source: string; readonly keyring?: Keyring; readonly der?: Uint8Array; readonly listed?: ListedKey }[];
  readonly keyrings?: Partial<Record<Keyring, number>>;
  readonly sources: readonly string[];
  readonly missing: readonly string[];
}

export function encodeTrustedKeys(set: TrustedKeySet): EncodedTrustedKeys {
  return {
    keys: set.keys.map((k) => ({ source: k.source, ...(k.keyring ? { keyring: k.keyring } : {}), ...(k.cert ? { der: k.cert.der.slice() } : {}), ...(k.listed ? { listed: k.listed } : {}) })),
    ...(set.keyrings ? { keyrings: set.keyrings } : {}),
    sources: set.sources,
    missing: set.missing,
  };
}

export function decodeTrustedKeys(e: EncodedTrustedKeys): TrustedKeySet {
  return {
    keys: e.keys.map((k) => ({ source: k.source, ...(k.keyring ? { keyring: k.keyring } : {}), ...(k.der ? { cert: parseX509(k.der) } : {}), ...(k.listed ? { listed: k.listed } : {}) })),
    ...(e.keyrings ? { keyrings: e.keyrings } : {}),
    sources: [...e.sources],
    missing: [...e.missing],
  };
}
