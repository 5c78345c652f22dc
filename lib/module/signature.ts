/**
 * The signature trailer sign-file appends to a module, read from the END of
 * the decompressed image (pure; no I/O):
 *
 *   [ module image ][ signer ][ key id ][ signature: sig_len bytes ]
 *   [ struct module_signature ][ "~Module signature appended~\n" (28) ]
 *
 *   struct module_signature {        offset
 *       u8     algo;        0  public-key algorithm (0 for PKCS#7)
 *       u8     hash;        1  digest algorithm    (0 for PKCS#7)
 *       u8     id_type;     2  0 PGP, 1 X.509, 2 PKCS#7
 *       u8     signer_len;  3  length of the signer name (0 for PKCS#7)
 *       u8     key_id_len;  4  length of the key id      (0 for PKCS#7)
 *       u8     __pad[3];    5
 *       __be32 sig_len;     8  length of the signature data
 *   };                      12 bytes
 *
 * Dispatch by id_type: PKCS#7 goes to the SignedData reader (pkcs7.ts); the
 * older PGP / X.509 layouts (kernels 3.7–4.2) carry signer, key id and one
 * MPI in the bytes before the struct. Also here: kmod 30's formatting of the
 * sig_id, signer, sig_key, sig_hashalgo and signature modinfo fields, and
 * whether the kernel's own format checks (mod_check_sig) accept the trailer.
 */
import type { ByteSource } from '../bytes/source.js';
import { decodeText, isUtf8, latin1String } from '../bytes/reader.js';
import { T_BIT_STRING, derError, integerMagnitude, isSignatureError } from './der.js';

export { isSignatureError };
import type { ModinfoEntry } from './modinfo.js';
import { KMOD_DIGESTS, OID_DATA, cut, digestName, kmodSignerBytes, parsePkcs7, parsePkcs7Reusing, type Pkcs7Info, type Pkcs7Memo } from './pkcs7.js';

export type { Pkcs7Memo };

/** Name of `module_signature.id_type` (kmod's table), or 'unknown' past its end. */
export type SignatureIdType = 'PGP' | 'X509' | 'PKCS#7' | 'unknown';

export interface ModuleSignature {
  idType: SignatureIdType;
  /** bytes covered by the signature: the image without any trailer data */
  moduleSize: number;
  /** for humans: the signer's name (PKCS#7: issuer CN, kmod's rule) */
  signer: string;
  /** the signer bytes exactly as kmod prints them (may differ for BMPString etc.) */
  signerBytes: Uint8Array;
  /**
   * PKCS#7: the issuer serial number as kmod shows it (unsigned big-endian
   * magnitude, no leading zeros), or the subjectKeyIdentifier for `sign-file -k`.
   * Legacy: the key id bytes from the trailer (X.509 SKID).
   */
  keyId: Uint8Array;
  /** md4 md5 sha1 rmd160 sha256 sha384 sha512 sha224 sm3 (kmod 30 names), sha3-256 …, or 'unknown' */
  hashAlgorithm: string;
  /** PKCS#7: the encryptedDigest; legacy: the sig_len bytes (MPI with its 2-byte length) */
  signature: Uint8Array;
  /** the 12-byte struct as read */
  raw: ModuleSignatureStruct;
  /** PKCS#7 only: signature algorithm of the first SignerInfo (rsaEncryption, ecdsa-with-SHA256 …) */
  signatureAlgorithm?: string;
  /** PKCS#7 only: whether the first SignerInfo has signed attributes */
  hasSignedAttributes?: boolean;
  pkcs7?: Pkcs7Info;
  /** Legacy (pre-4.3) and PGP trailers: `algo` name and the signature MPI. */
  legacy?: { algorithm: 'DSA' | 'RSA' | 'unknown'; mpi?: Uint8Array; mpiError?: string };
  /**
   * Whether kmod 30 (with libcrypto) shows this signature in modinfo, and why
   * not. `unpredictable` is set where kmod's output depends on memory it
   * should not read (a BIT STRING signer is not NUL-terminated): the entries
   * then hold the bytes kmod means to print.
   */
  kmod: { visible: boolean; reason?: string; unpredictable?: string };
  /** Whether the kernel's format checks accept the trailer (not a cryptographic check). */
  kernel: { ok: boolean; errno?: 'EBADMSG' | 'ENOPKG'; reason?: string };
}

/** struct module_signature, field by field. */
export interface ModuleSignatureStruct {
  algo: number;
  hash: number;
  idType: number;
  signerLen: number;
  keyIdLen: number;
  pad: number[];
  sigLen: number;
}

export interface ModinfoSignatureOptions {
  /**
   * kmod built with libcrypto (Debian's is: "+LIBCRYPTO"). When false, kmod
   * decodes nothing of a PKCS#7 message and prints `sig_hashalgo: unknown`
   * with empty signer, sig_key and signature.
   */
  libcrypto?: boolean;
}

export const SIGNATURE_MARKER = '~Module signature appended~\n';
const MARKER = new TextEncoder().encode(SIGNATURE_MARKER);
/** sizeof(struct module_signature) */
export const MODULE_SIGNATURE_STRUCT_SIZE = 12;
/** id_type of a PKCS#7 trailer (the only one kernels since 4.3 accept). */
const PKEY_ID_PKCS7 = 2;

/** `enum pkey_id_type` (kernel 3.7, kmod) */
const ID_TYPES: readonly SignatureIdType[] = ['PGP', 'X509', 'PKCS#7'];
/** `enum pkey_algo` (kernel 3.7, kmod) */
const PKEY_ALGOS = ['DSA', 'RSA'] as const;
/** `enum pkey_hash_algo` as kmod 30 names them (index = trailer `hash` byte) */
const HASH_NAMES = ['md4', 'md5', 'sha1', 'rmd160', 'sha256', 'sha384', 'sha512', 'sha224', 'sm3'] as const;

// ---------------------------------------------------------------------------
// Trailer
// ---------------------------------------------------------------------------

interface Trailer {
  raw: ModuleSignatureStruct;
  /** offset of struct module_signature */
  structOff: number;
}

/** Whether the image ends with the signature marker. */
function hasSignatureMarker(image: Uint8Array): boolean {
  const n = image.length;
  if (n < MARKER.length) return false;
  for (let i = 0; i < MARKER.length; i++) if (image[n - MARKER.length + i] !== MARKER[i]) return false;
  return true;
}

function readStruct(b: Uint8Array, o: number): ModuleSignatureStruct {
  return {
    algo: b[o],
    hash: b[o + 1],
    idType: b[o + 2],
    signerLen: b[o + 3],
    keyIdLen: b[o + 4],
    pad: [b[o + 5], b[o + 6], b[o + 7]],
    sigLen: ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0,
  };
}

function readTrailer(image: Uint8Array): Trailer | null {
  if (!hasSignatureMarker(image)) return null;
  const size = image.length - MARKER.length;
  if (size < MODULE_SIGNATURE_STRUCT_SIZE) {
    derError(`signature marker present but only ${size} byte(s) precede it (struct module_signature needs 12)`);
  }
  const o = size - MODULE_SIGNATURE_STRUCT_SIZE;
  return { structOff: o, raw: readStruct(image, o) };
}

/** Validate the lengths of a trailer against the image (kmod's and our own rule). */
function checkLengths(t: Trailer): void {
  const r = t.raw;
  if (r.sigLen === 0) derError('module signature has sig_len 0');
  const need = r.signerLen + r.keyIdLen + r.sigLen; // at most 255+255+2^32-1: exact in a double
  if (need > t.structOff) {
    derError(
      `module signature claims ${need} byte(s) (signer ${r.signerLen} + key id ${r.keyIdLen} + signature ${r.sigLen}) ` +
        `but only ${t.structOff} byte(s) precede the trailer`,
      { sigLen: r.sigLen, signerLen: r.signerLen, keyIdLen: r.keyIdLen, available: t.structOff },
    );
  }
}

function kernelCheck(t: Trailer): ModuleSignature['kernel'] {
  const r = t.raw;
  // mod_check_sig(): file_len is the length without the marker
  if (r.sigLen >= t.structOff) return { ok: false, errno: 'EBADMSG', reason: 'sig_len leaves no module data' };
  if (r.idType !== PKEY_ID_PKCS7) return { ok: false, errno: 'ENOPKG', reason: 'not signed with expected PKCS#7 message' };
  if (r.algo || r.hash || r.signerLen || r.keyIdLen || r.pad[0] || r.pad[1] || r.pad[2]) {
    return { ok: false, errno: 'EBADMSG', reason: 'PKCS#7 signature info has unexpected non-zero params' };
  }
  return { ok: true };
}

/**
 * Find and decode the signature appended to a (decompressed) module image.
 *
 * Returns null when the image does not end with the marker. Throws
 * KmodkitError 'ESIGNATURE' when the trailer or the PKCS#7 message is
 * malformed (kmod prints no signature fields for any of those). Trailers kmod
 * does not show but that are well-formed (unknown enum values, PKCS#7 with a
 * subjectKeyIdentifier signer, digests kmod 30 cannot name) are returned with
 * `kmod.visible === false`.
 */
export function findSignature(image: Uint8Array, memo?: Pkcs7Memo): ModuleSignature | null {
  const t = readTrailer(image);
  if (t === null) return null;
  checkLengths(t);
  const r = t.raw;
  const sigStart = t.structOff - r.sigLen;
  const kmodEnumReason =
    r.algo >= PKEY_ALGOS.length
      ? `algo ${r.algo} is past kmod's table`
      : r.hash >= HASH_NAMES.length
        ? `hash ${r.hash} is past kmod's table`
        : r.idType >= ID_TYPES.length
          ? `id_type ${r.idType} is past kmod's table`
          : undefined;
  const idType: SignatureIdType = r.idType < ID_TYPES.length ? ID_TYPES[r.idType] : 'unknown';

  if (r.idType === PKEY_ID_PKCS7) {
    const der = image.subarray(sigStart, t.structOff);
    const p7 = memo ? parsePkcs7Reusing(der, memo) : parsePkcs7(der);
    if (p7.signerInfos.length === 0) derError('PKCS#7 message has no SignerInfo');
    const si = p7.signerInfos[0];
    let signer = '';
    let signerBytes: Uint8Array = new Uint8Array(0);
    let keyId: Uint8Array;
    let kmodReason = kmodEnumReason;
    let unpredictable: string | undefined;
    if (si.sid.type === 'issuerAndSerialNumber') {
      const s = kmodSignerBytes(si.sid.issuer);
      signer = s.text;
      signerBytes = s.bytes.slice();
      if (s.tag === T_BIT_STRING && !s.bytes.includes(0)) unpredictable = 'the signer is a BIT STRING, which OpenSSL does not NUL-terminate: kmod prints whatever follows it in memory';
      keyId = integerMagnitude(si.sid.serialNumber);
    } else {
      keyId = si.sid.subjectKeyIdentifier.slice();
    }
    if (!kmodReason && p7.opensslIssues.length > 0) kmodReason = p7.opensslIssues[0];
    if (!kmodReason && KMOD_DIGESTS[si.digestAlgorithm.oid] === undefined) {
      kmodReason = `digest ${si.digestAlgorithm.name} has no name in kmod 30`;
    }
    const out: ModuleSignature = {
      idType,
      moduleSize: sigStart,
      signer,
      signerBytes,
      keyId,
      hashAlgorithm: digestName(si.digestAlgorithm.oid),
      signature: si.signature,
      raw: r,
      signatureAlgorithm: si.signatureAlgorithm.name,
      hasSignedAttributes: si.signedAttrs !== undefined,
      pkcs7: p7,
      kmod: kmodReason ? { visible: false, reason: kmodReason } : { visible: true },
      kernel: kernelCheck(t),
    };
    if (unpredictable && out.kmod.visible) out.kmod.unpredictable = unpredictable;
    if (out.kernel.ok && si.signedAttrs) {
      out.kernel = { ok: false, errno: 'EBADMSG', reason: 'PKCS#7 signature has authenticated attributes (the kernel refuses them for modules)' };
    } else if (out.kernel.ok && p7.contentType !== OID_DATA) {
      out.kernel = { ok: false, errno: 'EBADMSG', reason: `PKCS#7 content type ${p7.contentType} is not id-data` };
    }
    return out;
  }

  // PGP, legacy X509 and unknown id types: signer | key id | signature
  const keyStart = sigStart - r.keyIdLen;
  const signerStart = keyStart - r.signerLen;
  const signerRaw = image.subarray(signerStart, keyStart);
  const signature = image.slice(sigStart, t.structOff);
  const legacy: NonNullable<ModuleSignature['legacy']> = {
    algorithm: r.algo < PKEY_ALGOS.length ? PKEY_ALGOS[r.algo] : 'unknown',
  };
  // The kernel (3.7–4.2) read one MPI: 2-byte big-endian byte count, then the bytes.
  if (signature.length < 2) legacy.mpiError = 'signature shorter than its 2-byte MPI length';
  else {
    const n = (signature[0] << 8) | signature[1];
    if (n !== signature.length - 2) legacy.mpiError = `MPI length ${n} does not match the ${signature.length - 2} byte(s) present`;
    else legacy.mpi = signature.slice(2);
  }
  const signerBytes = cut(signerRaw).slice();
  return {
    idType,
    moduleSize: signerStart,
    signer: decodeText(signerBytes),
    signerBytes,
    keyId: image.slice(keyStart, sigStart),
    hashAlgorithm: r.hash < HASH_NAMES.length ? HASH_NAMES[r.hash] : 'unknown',
    signature,
    raw: r,
    legacy,
    kmod: kmodEnumReason ? { visible: false, reason: kmodEnumReason } : { visible: true },
    kernel: kernelCheck(t),
  };
}

// ---------------------------------------------------------------------------
// Reading the trailer through a ByteSource (a lazy file reads only the tail)
// ---------------------------------------------------------------------------

/**
 * The trailer bytes at the end of `src`: marker, struct, the signer/key id/
 * signature blob, and one byte of module data in front of the blob, so that
 * the kernel's "is anything left to sign" check sees what it would see in the
 * whole image. Returns the bytes and their offset in the image.
 */
function tailOf(src: ByteSource): { bytes: Uint8Array; start: number } {
  if (src.memory) return { bytes: src.memory, start: 0 };
  const fixed = MARKER.length + MODULE_SIGNATURE_STRUCT_SIZE;
  if (src.size < fixed) return { bytes: src.read(0, src.size), start: 0 };
  const s = readStruct(src.read(src.size - fixed, MODULE_SIGNATURE_STRUCT_SIZE), 0);
  const want = fixed + s.signerLen + s.keyIdLen + s.sigLen + 1;
  const start = want <= src.size ? src.size - want : 0;
  return { bytes: src.read(start, src.size - start), start };
}

/** findSignature() on a ByteSource, reading only the tail of a lazy source. */
export function findSignatureIn(src: ByteSource, memo?: Pkcs7Memo): ModuleSignature | null {
  const { bytes, start } = tailOf(src);
  const sig = findSignature(bytes, memo);
  if (sig && start > 0) return { ...sig, moduleSize: sig.moduleSize + start };
  return sig;
}

// ---------------------------------------------------------------------------
// What kmod's modinfo prints
// ---------------------------------------------------------------------------

/**
 * kmod's hex formatting for sig_key and signature: upper-case bytes joined by
 * ':', and after every 20th byte, when more follow, "\n\t\t" after the colon.
 * (kmod 30 kmod_module_hex_to_str; master's strbuf_pushhex gives the same.)
 */
export function kmodHex(bytes: Uint8Array): string {
  return latin1String(kmodHexBytes(bytes));
}

const HEXDIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70];

/** kmodHex() as ASCII bytes, built in one buffer: rows of 20 bytes ("XX:" each), "\n\t\t" between rows. */
export function kmodHexBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(kmodHexLength(bytes.length));
  kmodHexInto(bytes, out, 0);
  return out;
}

/** Length of kmodHex() of `n` bytes. */
export function kmodHexLength(n: number): number {
  return n === 0 ? 0 : n * 3 + Math.floor((n - 1) / 20) * 3 - 1;
}

/** kmodHexBytes() written into `out` at `at` (kmodHexLength(bytes.length) bytes); returns the end. */
export function kmodHexInto(bytes: Uint8Array, out: Uint8Array, at: number): number {
  let j = at;
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) {
      out[j++] = 58; // ':'
      if (i % 20 === 0) {
        out[j++] = 10;
        out[j++] = 9;
        out[j++] = 9;
      }
    }
    const b = bytes[i];
    out[j++] = HEXDIGITS[b >> 4];
    out[j++] = HEXDIGITS[b & 15];
  }
  return j;
}

const enc = new TextEncoder();

/** An entry whose value is ASCII text (names, hex). */
function asciiEntry(key: string, value: string, valueBytes: Uint8Array = enc.encode(value)): ModinfoEntry {
  return { key, value, valueBytes, utf8: true };
}

/** The signer: raw bytes up to a NUL, text only where it is exactly those bytes. */
function signerEntry(raw: Uint8Array): ModinfoEntry {
  const valueBytes = cut(raw);
  const value = decodeText(valueBytes);
  return { key: 'signer', value, valueBytes, utf8: isUtf8(valueBytes) };
}

/** A hex field; its text is made only if someone reads `value` (modinfo prints the bytes). */
function hexEntry(key: string, raw: Uint8Array): ModinfoEntry {
  const valueBytes = kmodHexBytes(raw);
  let text: string | undefined;
  return {
    key,
    valueBytes,
    utf8: true,
    get value() {
      return (text ??= latin1String(valueBytes));
    },
  };
}

/**
 * The entries kmod 30 appends to modinfo for a decoded signature, in order:
 * sig_id, signer, sig_key, sig_hashalgo, signature. Empty when kmod prints
 * none (`sig === null` or `sig.kmod.visible === false`).
 */
export function signatureModinfoEntries(sig: ModuleSignature | null): ModinfoEntry[] {
  if (sig === null || !sig.kmod.visible) return [];
  return [
    asciiEntry('sig_id', sig.idType),
    signerEntry(sig.signerBytes),
    hexEntry('sig_key', sig.keyId),
    asciiEntry('sig_hashalgo', sig.hashAlgorithm),
    hexEntry('signature', sig.signature),
  ];
}

/**
 * What a kmod built without libcrypto prints: the trailer's enums are checked,
 * a PKCS#7 message is not decoded (`sig_hashalgo: unknown`, empty signer,
 * sig_key and signature). Throws ESIGNATURE for a malformed trailer.
 */
export function signatureModinfoEntriesWithoutCrypto(src: ByteSource): ModinfoEntry[] {
  const { bytes } = tailOf(src);
  const t = readTrailer(bytes);
  if (t === null) return [];
  checkLengths(t);
  const r = t.raw;
  if (r.algo >= PKEY_ALGOS.length || r.hash >= HASH_NAMES.length || r.idType >= ID_TYPES.length) return [];
  if (r.idType !== PKEY_ID_PKCS7) return signatureModinfoEntries(findSignature(bytes));
  const empty = new Uint8Array(0);
  return [asciiEntry('sig_id', 'PKCS#7'), signerEntry(empty), hexEntry('sig_key', empty), asciiEntry('sig_hashalgo', 'unknown'), hexEntry('signature', empty)];
}

// ---------------------------------------------------------------------------
// The fields modinfo prints, remembered from one module to the next
// ---------------------------------------------------------------------------

/** signatureModinfoEntries() split for a writer: the fields before `signature`, and the signature's raw bytes. */
export interface SignatureFields {
  /** sig_id, signer, sig_key, sig_hashalgo. The same array for every module whose trailer matched the memo's. */
  readonly head: readonly ModinfoEntry[];
  /** What `signature` shows (as kmodHex): the raw bytes. */
  readonly signature: Uint8Array;
}

/**
 * The last PKCS#7 trailer whose fields were shown (one per run and thread):
 * modules signed by one key have trailers that differ only in the
 * encryptedDigest, whose bytes the decoding copies and never interprets
 * (the rule parsePkcs7Reusing relies on).
 */
export interface SignatureFieldsMemo {
  last?: {
    /** struct module_signature's 12 bytes and the PKCS#7 message before it: the last sig_len + 12 bytes before the marker. */
    trailer: Uint8Array;
    /** Where the encryptedDigest lies in `trailer`. */
    from: number;
    to: number;
    head: readonly ModinfoEntry[];
  };
  pkcs7: Pkcs7Memo;
}

/**
 * signatureModinfoEntries(findSignatureIn(src)) as SignatureFields, or null
 * where that has no entries: unsigned, not shown by kmod, or malformed (a
 * signature error: kmod shows no fields, and neither does modinfoEntries).
 * A PKCS#7 trailer equal to the memo's but for the encryptedDigest is not
 * decoded again.
 */
export function signatureFieldsReusing(src: ByteSource, memo: SignatureFieldsMemo): SignatureFields | null {
  const fixed = MARKER.length + MODULE_SIGNATURE_STRUCT_SIZE;
  const last = memo.last;
  if (last && src.size >= fixed) {
    const end = src.read(src.size - fixed, fixed);
    const sigLen = ((end[8] << 24) | (end[9] << 16) | (end[10] << 8) | end[11]) >>> 0;
    const n = last.trailer.length;
    // the same struct (so the same lengths, which must still fit this image: checkLengths)
    if (sigLen + MODULE_SIGNATURE_STRUCT_SIZE === n && hasSignatureMarker(end) && end[3] + end[4] + sigLen <= src.size - fixed) {
      const t = src.read(src.size - MARKER.length - n, n);
      let i = 0;
      while (i < last.from && t[i] === last.trailer[i]) i++;
      if (i === last.from) {
        i = last.to;
        while (i < n && t[i] === last.trailer[i]) i++;
        if (i === n) return { head: last.head, signature: t.subarray(last.from, last.to) };
      }
    }
  }
  let sig: ModuleSignature | null;
  try {
    sig = findSignatureIn(src, memo.pkcs7);
  } catch (e) {
    if (!isSignatureError(e)) throw e;
    return null;
  }
  const entries = signatureModinfoEntries(sig);
  if (sig === null || entries.length === 0) return null;
  const head = entries.slice(0, entries.length - 1);
  const from = sig.pkcs7?.signerInfos[0].signatureOffset;
  if (sig.idType === 'PKCS#7' && from !== undefined) {
    const n = sig.raw.sigLen + MODULE_SIGNATURE_STRUCT_SIZE;
    memo.last = { trailer: src.read(src.size - MARKER.length - n, n).slice(), from, to: from + sig.signature.length, head };
  }
  return { head, signature: sig.signature };
}
