/**
 * Symbol versions a module records for the symbols it imports, and the CRCs
 * it records for the symbols it exports.
 *
 * - `__versions` ("basic" modversions, all eras): an array of
 *   struct modversion_info { unsigned long crc; char name[64 - sizeof(long)]; },
 *   64 bytes per record in both classes, in the file's byte order.
 * - Extended modversions (6.14+): `__version_ext_crcs` (u32 array) with
 *   `__version_ext_names` (NUL-terminated names, entry i pairs with CRC i).
 *
 * - `__crc_NAME` symbols (≤ 5.18): the CRC of exported NAME, as the symbol's
 *   value (SHN_ABS) or as the u32 it labels in a section.
 *
 * Errors are 'EVERSIONS' (errno EINVAL, as kmod reports a malformed table).
 */
import { bytesOf, concatBytes, decodeText, u32, u64big } from '../bytes/reader.js';
import { KmodkitError } from '../errors.js';
import { SHN_ABS, SHN_UNDEF } from '../elf/constants.js';
import { data, section, type ElfFile } from '../elf/file.js';

export interface ModversionInfo {
  readonly name: string;
  /** The name's raw bytes (leading '.' stripped), for byte-exact output. */
  readonly nameBytes: Uint8Array;
  /** CRC: the low 32 bits of the field. */
  readonly crc: number;
  /** The field's high 32 bits: ELF64 `__versions` only, else 0 (modversionRaw() gives the whole field). */
  readonly crcHigh: number;
  readonly source: 'basic' | 'extended';
}

export const MODVERSION_INFO_SIZE = 64;
const DOT = 0x2e;

function versionsError(message: string, detail?: Record<string, unknown>): KmodkitError {
  return new KmodkitError('EVERSIONS', message, { errno: 'EINVAL', ...(detail ? { detail } : {}) });
}

export interface BasicModversionsOptions {
  /**
   * kmod 30 compatibility: a name that fills its field without a NUL runs on
   * into the following bytes of the image (kmod 30 uses strlen there). By
   * default such a record is an 'EVERSIONS' error (kmod ≥ 31, the kernel's
   * modpost never writes one).
   */
  overrun?: boolean;
  /**
   * Keep a leading '.' of the names (libkmod's depmod matches the names as
   * stored; the kernel and `--dump-modversions` drop the ppc64 ELFv1 dot).
   */
  keepDot?: boolean;
}

/**
 * Each `__versions` record as stored, without decoding it: `visit` gets the
 * name's bytes as bytes[start, end) (a leading '.' dropped unless keepDot)
 * and the CRC field's low and high 32 bits (high 0 in ELF32). Returns false
 * when the module has no such section. A size that is not a multiple of 64,
 * or (without `overrun`) a name that fills its field, is 'EVERSIONS'.
 */
export function forEachModversion(
  elf: ElfFile, options: BasicModversionsOptions,
  visit: (bytes: Uint8Array, start: number, end: number, crcLow: number, crcHigh: number, index: number) => void,
): boolean {
  const sec = section(elf, '__versions');
  if (!sec) return false;
  const bytes = data(elf, sec);
  if (bytes.length % MODVERSION_INFO_SIZE !== 0) {
    throw versionsError(`__versions size ${bytes.length} is not a multiple of ${MODVERSION_INFO_SIZE}`, { size: bytes.length });
  }
  const b = bytesOf(bytes, elf.header.le);
  const le = elf.header.le;
  const crcSize = elf.header.class === 64 ? 8 : 4;
  const count = bytes.length / MODVERSION_INFO_SIZE;
  for (let i = 0; i < count; i++) {
    const o = i * MODVERSION_INFO_SIZE;
    const crcLow = crcSize === 8 ? u32(b, le ? o : o + 4) : u32(b, o);
    const crcHigh = crcSize === 8 ? u32(b, le ? o + 4 : o) : 0;
    const fieldStart = o + crcSize;
    const fieldEnd = o + MODVERSION_INFO_SIZE;
    const nul = bytes.indexOf(0, fieldStart);
    let src = bytes;
    let start = fieldStart;
    let end: number;
    if (nul >= 0 && nul < fieldEnd) {
      end = nul;
    } else if (options.overrun) {
      src = overrunName(elf, sec.offset + fieldStart, bytes, fieldStart, nul);
      start = 0;
      end = src.length;
    } else {
      throw versionsError(`__versions entry ${i}: name is not NUL-terminated within its ${MODVERSION_INFO_SIZE - crcSize} bytes`, { index: i });
    }
    if (end > start && src[start] === DOT && !options.keepDot) start++;
    visit(src, start, end, crcLow, crcHigh, i);
  }
  return true;
}

/**
 * The `__versions` table, or null when the module has no such section.
 * An empty section yields []; a size that is not a multiple of 64 is 'EVERSIONS'.
 */
export function basicModversions(elf: ElfFile, options: BasicModversionsOptions = {}): ModversionInfo[] | null {
  const out: ModversionInfo[] = [];
  const found = forEachModversion(elf, options, (bytes, start, end, crc, high) => {
    const raw = bytes.subarray(start, end);
    out.push({ name: decodeText(raw), nameBytes: raw, crc, crcHigh: high, source: 'basic' });
  });
  return found ? out : null;
}

/** kmod 30: the string from `fieldStart` to the next NUL anywhere in the image. */
function overrunName(elf: ElfFile, fileOffset: number, bytes: Uint8Array, fieldStart: number, nulInSection: number): Uint8Array {
  if (nulInSection >= 0) return bytes.subarray(fieldStart, nulInSection);
  const src = elf.source;
  const rest = src.read(fileOffset, src.size - fileOffset);
  const nul = rest.indexOf(0);
  if (nul < 0) throw versionsError('__versions: last name is not NUL-terminated before the end of the file');
  return rest.subarray(0, nul);
}

/**
 * The extended tables, or null when the module has neither section. One
 * without the other, or more CRCs than names, is 'EVERSIONS' (the kernel's
 * rules). A trailing partial CRC (size not a multiple of 4) is ignored, as
 * the kernel does.
 */
export function extendedModversions(elf: ElfFile): ModversionInfo[] | null {
  const crcSec = section(elf, '__version_ext_crcs');
  const nameSec = section(elf, '__version_ext_names');
  if (!crcSec && !nameSec) return null;
  if (!crcSec || !nameSec) {
    throw versionsError('extended version crc+name presence does not match');
  }
  const crcs = data(elf, crcSec);
  const names = data(elf, nameSec);
  const b = bytesOf(crcs, elf.header.le);
  const count = Math.floor(crcs.length / 4);
  const out: ModversionInfo[] = new Array(count);
  let p = 0;
  for (let i = 0; i < count; i++) {
    const nul = p < names.length ? names.indexOf(0, p) : -1;
    if (nul < 0) throw versionsError(`more extended version crcs (${count}) than names`, { crcs: count, names: i });
    let raw = names.subarray(p, nul);
    p = nul + 1;
    if (raw.length > 0 && raw[0] === DOT) raw = raw.subarray(1);
    const crc = u32(b, i * 4);
    out[i] = { name: decodeText(raw), nameBytes: raw, crc, crcHigh: 0, source: 'extended' };
  }
  return out;
}

export interface ModuleVersions {
  readonly basic: ModversionInfo[] | null;
  readonly extended: ModversionInfo[] | null;
}

/** Both tables (each null when absent). */
export function moduleVersions(elf: ElfFile): ModuleVersions {
  return { basic: basicModversions(elf), extended: extendedModversions(elf) };
}

/**
 * The table the kernel's check_version() uses: the extended one when
 * present, else the basic one; null when the module has neither.
 */
export function effectiveModversions(elf: ElfFile): ModversionInfo[] | null {
  return extendedModversions(elf) ?? basicModversions(elf);
}

/**
 * The CRC a `__crc_*` symbol carries (section index `shndx`, value `value`):
 * the value itself for SHN_ABS (and SHN_UNDEF, as libkmod reads it), else the
 * u32 at offset `value` of that section; undefined when that lies outside
 * the section or the section outside the file.
 */
export function crcSymbolValue(elf: ElfFile, shndx: number, value: bigint): bigint | undefined {
  if (shndx === SHN_ABS || shndx === SHN_UNDEF) return value;
  const sec = shndx < elf.sections.length ? elf.sections[shndx] : undefined;
  if (!sec || !sec.inFile || sec.size < 4 || value > BigInt(sec.size - 4)) return undefined;
  return BigInt(u32(bytesOf(data(elf, sec), elf.header.le), Number(value)));
}

const enc = new TextEncoder();
const NEWLINE = Uint8Array.of(0x0a);

/** The whole CRC field: u64 in ELF64 `__versions`, else the u32 (made only where printed: a BigInt per record cost a quarter of the table's decoding). */
export function modversionRaw(v: ModversionInfo): bigint {
  return (BigInt(v.crcHigh) << 32n) | BigInt(v.crc);
}

/** One line of `modprobe --dump-modversions`: printf("0x%08" PRIx64 "\t%s\n", crc, name). */
export function modversionLine(v: ModversionInfo): Uint8Array {
  return concatBytes([enc.encode('0x' + modversionRaw(v).toString(16).padStart(8, '0') + '\t'), v.nameBytes, NEWLINE]);
}

/**
 * kmod 30's `modprobe --dump-modversions FILE` output: the `__versions`
 * table only (kmod 30 predates extended modversions), every record, with the
 * whole CRC field printed. A module without `__versions` is an 'ENOSECTION'
 * error with errno ENOENT (kmod: "could not get modversions of FILE: No such
 * file or directory", exit 1).
 */
export function dumpModversionsKmod30(elf: ElfFile): Uint8Array {
  const list = basicModversions(elf, { overrun: true });
  if (list === null) {
    throw new KmodkitError('ENOSECTION', 'module has no __versions section', { errno: 'ENOENT' });
  }
  return concatBytes(list.map(modversionLine));
}
