/**
 * modinfo's text output, byte for byte as kmod's `modinfo` prints it (kmod 34
 * by default, kmod 30 with `kmodCompat: '30'`; they differ in the padding of
 * keys longer than 15 bytes): `key:` padded to column 17, file order, parm/parmtype merged and printed
 * last, `-F` values alone, `-0` mixed delimiters, hex signature fields.
 */
import type { ModinfoEntry } from '../../lib/module/modinfo.js';
import type { ParmInfo } from '../../lib/module/parm.js';
import type { KmodCompat } from '../../lib/kmod-compat.js';
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
