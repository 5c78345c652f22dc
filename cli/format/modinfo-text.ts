/**
 * modinfo's text output, byte for byte as kmod's `modinfo` prints it (kmod 34
 * by default, kmod 30 with `kmodCompat: '30'`; they differ in the padding of
 * keys longer than 15 bytes): `key:` padded to column 17, file order, parm/parmtype merged and printed
 * last, `-F` values alone, `-0` mixed delimiters, hex signature fields.
 */
import { MAX_MODINFO_ENTRIES, type ModinfoEntry } from '../../lib/module/modinfo.js';
import type { ParmInfo } from '../../lib/module/parm.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';
import { kmodHexInto, kmodHexLength, type SignatureFields } from '../../lib/module/signature.js';
import type { Sink as Output } from './output.js';

const enc = new TextEncoder();
const NL = Uint8Array.of(10);
const NUL = Uint8Array.of(0);

export interface ModinfoTextOptions {
  /** -F FIELD (or -a/-d/-l/-p/-n): print only this field's values. */
  field?: string;
  /** -0: NUL instead of newline. */
  nul: boolean;
  /** Reference whose output is matched where kmod versions differ: '34' (default) or '30'. */
  kmodCompat?: KmodCompat;
  /** Padded `key:` bytes, reused across modules (filled on first use; for one `nul` setting). */
  padded?: PadCache;
  /** composeModinfo's rendering of the last signature fields (for these options). */
  signatureHead?: { head: readonly ModinfoEntry[]; bytes: Uint8Array };
}


/** `key:` and its padding (or `key=` with -0) as bytes, per key seen so far: a handful of keys recur in every module. */
type PadCache = Map<string, Uint8Array>;

function padKey(key: string, opts: ModinfoTextOptions): Uint8Array {
  const cache = (opts.padded ??= new Map());
  let padded = cache.get(key);
  if (padded === undefined) {
    const keyBytes = enc.encode(key);
    if (opts.nul) padded = enc.encode(key + '=');
    else {
      // kmod: printf("%s:%-*s", key, 15 - strlen(key), ""). A negative width means
      // left-justified |width|, so kmod 30 pads a 20-byte key with 5 spaces; kmod 34
      // clamps the width at 0 and prints no padding.
      const pad = 15 - keyBytes.length;
      padded = enc.encode(key + ':' + ' '.repeat(opts.kmodCompat === '30' ? Math.abs(pad) : Math.max(pad, 0)));
    }
    cache.set(key, padded);
  }
  return padded;
}

function label(name: string): string {
  // printf("%-16s", "name:")
  return name.length >= 16 ? name : name + ' '.repeat(16 - name.length);
}

export function writeHeaderLine(out: Output, name: string, value: string, opts: ModinfoTextOptions): void {
  out.text(label(name) + value + (opts.nul ? '\0' : '\n'));
}

/** Body after the filename line: entries (with signature entries appended) then merged parms. */
export function writeEntries(out: Output, entries: readonly ModinfoEntry[], params: readonly ParmInfo[], opts: ModinfoTextOptions): void {
  const sep = opts.nul ? '\0' : '\n';
  if (opts.field !== undefined) {
    for (const e of entries) {
      if (e.key !== opts.field) continue;
      value(out, e);
      out.text(sep);
    }
    return;
  }
  for (const e of entries) {
    if (e.key === 'parm' || e.key === 'parmtype') continue;
    out.bytes(padKey(e.key, opts));
    value(out, e);
    out.bytes(opts.nul ? NUL : NL);
  }
  for (const p of params) {
    out.text(label('parm:'));
    writeParm(out, p, false);
    out.text(sep);
  }
}

/** `-p` / `-F parm` form: NAME:DESC (TYPE), NAME:DESC, or NAME: (TYPE). */
export function writeParmList(out: Output, params: readonly ParmInfo[], opts: ModinfoTextOptions): void {
  const sep = opts.nul ? '\0' : '\n';
  for (const p of params) {
    writeParm(out, p, true);
    out.text(sep);
  }
}

function writeParm(out: Output, p: ParmInfo, parmMode: boolean): void {
  out.text(p.name + ':');
  if (p.descriptionBytes === undefined) {
    // type only: default mode "NAME:TYPE", -p mode "NAME: (TYPE)"
    if (parmMode) out.text(' (');
    part(out, p.type, p.typeBytes, p.typeUtf8);
    if (parmMode) out.text(')');
    return;
  }
  part(out, p.description, p.descriptionBytes, p.descriptionUtf8);
  if (p.typeBytes !== undefined) {
    out.text(' (');
    part(out, p.type, p.typeBytes, p.typeUtf8);
    out.text(')');
  }
}

function part(out: Output, text: string | undefined, bytes: Uint8Array | undefined, utf8: boolean | undefined): void {
  if (utf8 && text !== undefined) out.text(text);
  else if (bytes) out.bytes(bytes);
}

/** A value's raw bytes (exactly what kmod prints; no re-encoding of the text). */
function value(out: Output, e: ModinfoEntry): void {
  out.bytes(e.valueBytes);
}

/** A modinfo entry made from text (signature fields, builtin records). */
export function textEntry(key: string, value: string): ModinfoEntry {
  return { key, value, valueBytes: enc.encode(value), utf8: true };
}

// ---- One module's whole output straight from its .modinfo bytes ----

/** A growable buffer one module's output is put together in (one per run: it keeps the largest size met). */
export class ByteBuffer {
  buf: Uint8Array;
  pos = 0;

  constructor(size = 64 * 1024) {
    this.buf = new Uint8Array(size);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** data[from, to) */
  copy(data: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    if (n > 32) {
      b.set(data.subarray(from, to), p);
      p += n;
    } else for (let i = from; i < to; i++) b[p++] = data[i];
    this.pos = p;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** `n` spaces. */
  spaces(n: number): void {
    this.room(n);
    this.buf.fill(32, this.pos, this.pos + n);
    this.pos += n;
  }

  text(s: string): void {
    this.room(s.length * 3);
    this.pos += enc.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  /** The bytes put together so far (shares the buffer: use before the next module). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const EQ = 0x3d;
const COLON = 0x3a;

/** Whether data[from, to) is the ASCII text `s`. */
function bytesAre(data: Uint8Array, from: number, to: number, s: string): boolean {
  if (to - from !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (data[from + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** One merged parameter: ranges in the section (-1: absent). */
interface ParmSpan {
  nameFrom: number;
  nameTo: number;
  descFrom: number;
  descTo: number;
  typeFrom: number;
  typeTo: number;
}

/**
 * The output writeHeaderLine('filename:') (default mode only) and writeBody
 * give for a module whose entries are parseModinfo(section) followed by the
 * signature fields, put together in `w` straight from the section's bytes:
 * no entry objects, and the signature fields before `signature` rendered
 * once while they stay the same. Returns false with `w` as it was where
 * those functions would print something this does not reproduce (a key or
 * a merged parm name that is not ASCII, a parm without ':', more than
 * MAX_MODINFO_ENTRIES entries): the caller then takes the general path.
 */
export function composeModinfo(w: ByteBuffer, filename: string, section: Uint8Array, sig: SignatureFields | null, opts: ModinfoTextOptions): boolean {
  const start = w.pos;
  const { field, nul } = opts;
  const sep = nul ? 0 : 10;
  const merge = field === undefined || field === 'parm';
  const parms: number[] = []; // for each parm/parmtype entry: kind (0 parm, 1 parmtype), value start, colon, value end
  if (field === undefined) {
    w.text(label('filename:') + filename);
    w.byte(sep);
  }
  // parseModinfo's splitting: leading NULs skipped (at least one byte kept), NUL runs collapsed, an unterminated last string kept
  let i = 0;
  let end = section.length;
  while (end - i > 1 && section[i] === 0) i++;
  if (end - i <= 1) end = i;
  let count = 0;
  while (i < end) {
    let j = section.indexOf(0, i);
    if (j < 0 || j > end) j = end;
    if (j > i) {
      if (++count > MAX_MODINFO_ENTRIES) break;
      let eq = i;
      let high = 0;
      while (eq < j && section[eq] !== EQ) high |= section[eq++];
      if (high >= 0x80) break;
      const valueFrom = eq < j ? eq + 1 : j;
      const kind = bytesAre(section, i, eq, 'parm') ? 0 : bytesAre(section, i, eq, 'parmtype') ? 1 : -1;
      if (kind >= 0 && merge) {
        let colon = valueFrom;
        while (colon < j && section[colon] !== COLON) colon++;
        parms.push(kind, valueFrom, colon, j);
      }
      if (field === undefined) {
        if (kind < 0) {
          keyInto(w, section, i, eq, opts);
          w.copy(section, valueFrom, j);
          w.byte(sep);
        }
      } else if (field !== 'parm' && bytesAre(section, i, eq, field)) {
        w.copy(section, valueFrom, j);
        w.byte(sep);
      }
    }
    i = j + 1;
    while (i < end && section[i] === 0) i++;
  }
  if (i < end) {
    w.pos = start;
    return false;
  }
  let merged: ParmSpan[] = [];
  if (merge && parms.length > 0) {
    const m = mergeParmSpans(section, parms);
    if (m === undefined) {
      w.pos = start;
      return false;
    }
    merged = m;
  }
  if (sig !== null && field !== 'parm') {
    const head = opts.signatureHead?.head === sig.head ? opts.signatureHead.bytes : renderHead(sig.head, opts);
    w.copy(head, 0, head.length);
    if (field === undefined || field === 'signature') {
      if (field === undefined) keyText(w, 'signature', opts);
      w.room(kmodHexLength(sig.signature.length) + 1);
      w.pos = kmodHexInto(sig.signature, w.buf, w.pos);
      w.byte(sep);
    }
  }
  for (const p of merged) {
    if (field === undefined) w.text(label('parm:'));
    w.copy(section, p.nameFrom, p.nameTo);
    w.byte(COLON);
    if (p.descFrom < 0) {
      if (field !== undefined) w.text(' (');
      w.copy(section, p.typeFrom, p.typeTo);
      if (field !== undefined) w.text(')');
    } else {
      w.copy(section, p.descFrom, p.descTo);
      if (p.typeFrom >= 0) {
        w.text(' (');
        w.copy(section, p.typeFrom, p.typeTo);
        w.text(')');
      }
    }
    w.byte(sep);
  }
  return true;
}

/** mergeParms() over the collected parm/parmtype ranges; undefined where a name is not ASCII or has no ':'. */
function mergeParmSpans(section: Uint8Array, parms: readonly number[]): ParmSpan[] | undefined {
  const byName = new Map<string, ParmSpan>();
  const order: ParmSpan[] = [];
  for (let k = 0; k < parms.length; k += 4) {
    const [kind, from, colon, to] = [parms[k], parms[k + 1], parms[k + 2], parms[k + 3]];
    if (colon === to) return undefined; // "Found invalid ...": the general path prints it
    let name = '';
    for (let i = from; i < colon; i++) {
      if (section[i] >= 0x80) return undefined;
      name += String.fromCharCode(section[i]);
    }
    let p = byName.get(name);
    if (!p) {
      p = { nameFrom: from, nameTo: colon, descFrom: -1, descTo: -1, typeFrom: -1, typeTo: -1 };
      byName.set(name, p);
      order.push(p);
    }
    if (kind === 0) {
      p.descFrom = colon + 1;
      p.descTo = to;
    } else {
      p.typeFrom = colon + 1;
      p.typeTo = to;
    }
  }
  return order.reverse();
}

/** padKey() of the ASCII key section[from, to), written in place. */
function keyInto(w: ByteBuffer, section: Uint8Array, from: number, to: number, opts: ModinfoTextOptions): void {
  w.copy(section, from, to);
  keyEnd(w, to - from, opts);
}

function keyText(w: ByteBuffer, key: string, opts: ModinfoTextOptions): void {
  w.text(key);
  keyEnd(w, key.length, opts);
}

/** What padKey() puts after a key of `length` ASCII bytes. */
function keyEnd(w: ByteBuffer, length: number, opts: ModinfoTextOptions): void {
  if (opts.nul) {
    w.byte(EQ);
    return;
  }
  w.byte(COLON);
  const pad = 15 - length;
  w.spaces(opts.kmodCompat === '30' ? Math.abs(pad) : Math.max(pad, 0));
}

/** The signature fields before `signature` as writeEntries prints them, remembered in `opts`. */
function renderHead(head: readonly ModinfoEntry[], opts: ModinfoTextOptions): Uint8Array {
  const w = new ByteBuffer(256);
  const sink: Output = {
    text: (s) => w.text(s),
    bytes: (b) => w.copy(b, 0, b.length),
    error: () => {}, // writeEntries prints nothing on stderr
  };
  writeEntries(sink, head, [], opts);
  const bytes = w.bytes().slice();
  opts.signatureHead = { head, bytes };
  return bytes;
}
