/**
 * modinfo's text output, byte for byte as kmod's `modinfo` prints it (kmod 34
 * by default, kmod 30 with `kmodCompat: '30'`; they differ in the padding of
 * keys longer than 15 bytes): `key:` padded to column 17, file order, parm/parmtype merged and printed
 * last, `-F` values alone, `-0` mixed delimiters, hex signature fields.
 *
 * It prints what the library lists (lib/module/module.ts modinfoListing):
 * keys, values and parameter parts are copied from the module's bytes as
 * they are, the way kmod prints its C strings.
 */
import { decodeText } from '../../lib/bytes/reader.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';
import { modinfoKeyEquals, modinfoKeyIs, SPAN_FIELDS, type ModinfoSpans } from '../../lib/module/modinfo.js';
import type { ModinfoListing } from '../../lib/module/module.js';
import { PARM_DESC, PARM_FIELDS, PARM_NAME, PARM_TYPE, type ParmTable } from '../../lib/module/parm.js';
import { kmodHexInto, kmodHexLength } from '../../lib/module/signature.js';
import type { Sink } from './output.js';
import type { ByteBuffer } from './byte-buffer.js';

export interface ModinfoTextOptions {
  /** -F FIELD (or -a/-d/-l/-p/-n): print only this field's values. */
  readonly field?: string;
  /** `field` as the bytes a key is compared with. */
  readonly fieldBytes?: Uint8Array;
  /** -0: NUL instead of newline. */
  readonly nul: boolean;
  /** Reference whose output is matched where kmod versions differ: '34' (default) or '30'. */
  readonly kmodCompat?: KmodCompat;
}

const enc = new TextEncoder();

/** The options for a run (`fieldBytes` made from `field`). */
export function modinfoTextOptions(o: { field?: string; nul: boolean; kmodCompat?: KmodCompat }): ModinfoTextOptions {
  return { ...o, ...(o.field !== undefined ? { fieldBytes: enc.encode(o.field) } : {}) };
}

const NUL = 0;
const NL = 10;
const EQ = 0x3d;
const COLON = 0x3a;

function label(name: string): string {
  // printf("%-16s", "name:")
  return name.length >= 16 ? name : name + ' '.repeat(16 - name.length);
}

/** A `name:` line padded as kmod prints filename:/name: (default mode only). */
export function writeHeaderLine(out: Sink, name: string, value: string, opts: ModinfoTextOptions): void {
  out.text(label(name) + value + (opts.nul ? '\0' : '\n'));
}

/**
 * What follows a key of `length` bytes: `=` with -0, else `:` and kmod's
 * padding, printf("%s:%-*s", key, 15 - strlen(key), ""). A negative width
 * means left-justified |width|, so kmod 30 pads a 20-byte key with 5
 * spaces; kmod 34 clamps the width at 0 and prints no padding.
 */
function keyEnd(w: ByteBuffer, length: number, opts: ModinfoTextOptions): void {
  if (opts.nul) {
    w.byte(EQ);
    return;
  }
  w.byte(COLON);
  const pad = 15 - length;
  w.spaces(opts.kmodCompat === '30' ? Math.abs(pad) : Math.max(pad, 0));
}

/**
 * One module's listing after its header line(s): the entries in file order
 * (parm/parmtype held back), the signature fields, then the merged
 * parameters; with `field`, that field's values alone (`parm`: the -p
 * form). Entries without ':' in parm/parmtype are reported on stderr
 * (w.error) first, as kmod's "Found invalid" lines.
 */
export function writeModinfo(w: ByteBuffer, listing: ModinfoListing, opts: ModinfoTextOptions): void {
  const { entries: s, parms, signature: sig } = listing;
  const { section, at } = s;
  const field = opts.field;
  const sep = opts.nul ? NUL : NL;
  if (field === undefined || field === 'parm') {
    for (let k = 0; k < parms.invalidCount; k++) {
      const o = parms.invalid[k] * SPAN_FIELDS;
      const key = decodeText(section.subarray(at[o], at[o + 1]));
      const value = decodeText(section.subarray(at[o + 2], at[o + 3]));
      w.error(`modinfo: ERROR: Found invalid "${key}=${value}": missing ':'`);
    }
  }
  if (field === 'parm') {
    writeParms(w, section, parms, true, sep);
    return;
  }
  if (field !== undefined) {
    const key = opts.fieldBytes ?? enc.encode(field);
    for (let i = 0; i < s.count; i++) {
      if (!modinfoKeyEquals(s, i, key)) continue;
      const o = i * SPAN_FIELDS;
      w.copy(section, at[o + 2], at[o + 3]);
      w.byte(sep);
    }
    if (sig) {
      for (const e of sig.head) {
        if (e.key !== field) continue;
        w.bytes(e.valueBytes);
        w.byte(sep);
      }
      if (field === 'signature') {
        writeHex(w, sig.signature);
        w.byte(sep);
      }
    }
    return;
  }
  for (let i = 0; i < s.count; i++) {
    if (isParm(s, i)) continue;
    const o = i * SPAN_FIELDS;
    w.copy(section, at[o], at[o + 1]);
    keyEnd(w, at[o + 1] - at[o], opts);
    w.copy(section, at[o + 2], at[o + 3]);
    w.byte(sep);
  }
  if (sig) {
    for (const e of sig.head) {
      w.ascii(e.key); // sig_id, signer, sig_key, sig_hashalgo
      keyEnd(w, e.key.length, opts);
      w.bytes(e.valueBytes);
      w.byte(sep);
    }
    w.ascii('signature');
    keyEnd(w, 'signature'.length, opts);
    writeHex(w, sig.signature);
    w.byte(sep);
  }
  writeParms(w, section, parms, false, sep);
}

function isParm(s: ModinfoSpans, i: number): boolean {
  const o = i * SPAN_FIELDS;
  const n = s.at[o + 1] - s.at[o];
  return (n === 4 || n === 8) && (modinfoKeyIs(s, i, 'parm') || modinfoKeyIs(s, i, 'parmtype'));
}

/** kmod's hex of the signature (rows of 20 bytes). */
function writeHex(w: ByteBuffer, bytes: Uint8Array): void {
  w.room(kmodHexLength(bytes.length));
  w.pos = kmodHexInto(bytes, w.buf, w.pos);
}

/**
 * The merged parameters, last to appear first: `parm:` lines (NAME:DESC
 * (TYPE), NAME:DESC or NAME:TYPE), or with -p (`parmMode`) NAME:DESC
 * (TYPE), NAME:DESC or NAME: (TYPE).
 */
function writeParms(w: ByteBuffer, section: Uint8Array, t: ParmTable, parmMode: boolean, sep: number): void {
  const at = t.at;
  for (let p = t.count - 1; p >= 0; p--) {
    const o = p * PARM_FIELDS;
    // printf("%-16s", "parm:"), with -0 too
    if (!parmMode) w.ascii('parm:           ');
    w.copy(section, at[o + PARM_NAME + 1], at[o + PARM_NAME + 2]);
    w.byte(COLON);
    const hasType = at[o + PARM_TYPE] >= 0;
    if (at[o + PARM_DESC] < 0) {
      if (parmMode) w.ascii(' (');
      w.copy(section, at[o + PARM_TYPE + 1], at[o + PARM_TYPE + 2]);
      if (parmMode) w.byte(0x29);
    } else {
      w.copy(section, at[o + PARM_DESC + 1], at[o + PARM_DESC + 2]);
      if (hasType) {
        w.ascii(' (');
        w.copy(section, at[o + PARM_TYPE + 1], at[o + PARM_TYPE + 2]);
        w.byte(0x29);
      }
    }
    w.byte(sep);
  }
}
