/**
 * The kernel's module-parameter parsing, modelled for pre-flight checks
 * (kernel/params.c parse_args/parse_one, lib/cmdline.c next_arg, lib/kstrtox.c,
 * the param_set_* ops). Written from the documented behaviour; pure.
 */
import { excerpt } from '../excerpt.js';

export interface ParamArg {
  readonly name: string;
  /** undefined = no '=' at all (a bare flag). */
  readonly value?: string;
}

export type ParamScalar = string | number | bigint | boolean;
/** `null` = the bare name (no `=value`): "true" for bool parameters. Arrays are comma-joined. */
export type ParamValue = ParamScalar | readonly ParamScalar[] | null;
/**
 * Module parameters, as checkModule (CheckOptions.params) and loadModule
 * (LoadOptions.params) both take them:
 * - a string: an already-formatted kernel parameter string;
 * - a list: `name=value` words as on insmod's command line (kmod's quoting rule applies);
 * - an object: name → value (values are literal; quoting is done when loading).
 */
export type ParamsInput = string | readonly string[] | Readonly<Record<string, ParamValue | undefined>>;

function scalarLiteral(v: ParamScalar): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

/** A parameter string as the kernel splits it, "name=value" / "name" items, or a name → value record, as a list. */
export function paramArgs(params: ParamsInput): ParamArg[] {
  if (typeof params === 'string') return splitKernelArgs(params).args.map((a) => (a.value === null ? { name: a.name } : { name: a.name, value: a.value }));
  if (Array.isArray(params)) {
    return (params as readonly string[]).map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? { name: p } : { name: p.slice(0, eq), value: p.slice(eq + 1) };
    });
  }
  const out: ParamArg[] = [];
  for (const [name, v] of Object.entries(params as Record<string, ParamValue | undefined>)) {
    if (v === undefined) continue;
    if (v === null) out.push({ name });
    else out.push({ name, value: Array.isArray(v) ? (v as readonly ParamScalar[]).map(scalarLiteral).join(',') : scalarLiteral(v as ParamScalar) });
  }
  return out;
}

/**
 * The kernel's isspace() (lib/ctype.c): its table is Latin-1, so besides
 * \t \n \v \f \r and space, byte 0xA0 is whitespace too. Parameter strings
 * reach the kernel as UTF-8, where 0xA0 is a continuation byte of many
 * characters ('à' is C3 A0): every rule here works on those bytes.
 */
export function isKernelSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0xa0;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Whether the UTF-8 bytes of `s` hold a byte the kernel's isspace() accepts. */
export function hasKernelSpace(s: string): boolean {
  for (const b of utf8.encode(s)) if (isKernelSpace(b)) return true;
  return false;
}

/** One parameter as the kernel sees it; `value` null = no '=' at all. */
export interface KernelArg {
  readonly name: string;
  readonly value: string | null;
}

const QUOTE = 0x22;
const EQUALS = 0x3d;

/**
 * Split a parameter string exactly as the kernel's parse_args() loop over
 * next_arg() does (kernel/params.c, lib/cmdline.c), on the string's UTF-8
 * bytes: leading whitespace skipped; a token ends at whitespace outside
 * double quotes, every '"' toggling the in-quote state (no escapes); a
 * token starting with '"' starts in quotes and loses a '"' at its end; the
 * first '=' after the token's first byte splits name from value, and a value
 * starting with '"' loses it and a '"' at the token's end. A NUL byte ends
 * the string (it is a C string). A bare `--` ends parsing; the remainder is
 * `rest`. Names and values are decoded back from UTF-8 (a token cut inside a
 * character comes back with U+FFFD, so it never equals what was meant).
 */
export function splitKernelArgs(s: string): { args: KernelArg[]; rest?: string } {
  let bytes = utf8.encode(s);
  const nul = bytes.indexOf(0);
  if (nul >= 0) bytes = bytes.subarray(0, nul);
  const text = (from: number, to: number) => utf8Decoder.decode(bytes.subarray(from, Math.max(from, to)));
  const n = bytes.length;
  const args: KernelArg[] = [];
  let i = 0;
  const skip = () => {
    while (i < n && isKernelSpace(bytes[i])) i++;
  };
  skip();
  while (i < n) {
    let start = i;
    let inQuote = false;
    let quoted = false;
    if (bytes[start] === QUOTE) {
      start++;
      inQuote = true;
      quoted = true;
    }
    let j = start;
    let equals = -1;
    for (; j < n; j++) {
      const c = bytes[j];
      if (isKernelSpace(c) && !inQuote) break;
      if (equals < 0 && c === EQUALS && j > start) equals = j;
      if (c === QUOTE) inQuote = !inQuote;
    }
    let arg: KernelArg;
    if (equals < 0) {
      const end = quoted && j > start && bytes[j - 1] === QUOTE ? j - 1 : j;
      arg = { name: text(start, end), value: null };
    } else {
      let vs = equals + 1;
      let ve = j;
      if (bytes[vs] === QUOTE) {
        vs++;
        if (ve > vs && bytes[ve - 1] === QUOTE) ve--;
      } else if (quoted && ve > vs && bytes[ve - 1] === QUOTE) {
        ve--;
      }
      arg = { name: text(start, equals), value: text(vs, ve) };
    }
    i = j < n ? j + 1 : j;
    if (arg.value === null && arg.name === '--') {
      skip();
      return { args, rest: text(i, n) };
    }
    args.push(arg);
    skip();
  }
  return { args };
}

/**
 * The parameter string a loader passes to init_module: items joined by
 * spaces, a value holding kernel whitespace wrapped in double quotes (what
 * kmod's modprobe does with command-line options).
 */
export function paramString(args: readonly ParamArg[]): string {
  return args.map((a) => (a.value === undefined ? a.name : hasKernelSpace(a.value) ? `${a.name}="${a.value}"` : `${a.name}=${a.value}`)).join(' ');
}

/** parameq(): '-' and '_' are the same. */
export function paramEq(a: string, b: string): boolean {
  return a.length === b.length && a.replace(/-/g, '_') === b.replace(/-/g, '_');
}

// ---------------------------------------------------------------------------
// kstrto*
// ---------------------------------------------------------------------------

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errno: 'EINVAL' | 'ERANGE' | 'ENOSPC' | 'EROFS'; reason: string };

/** kstrtoull(s, 0): optional '+', 0x → hex, 0 → octal, one trailing newline allowed. */
export function kstrtoull(s: string, base = 0): ParseResult<bigint> {
  let t = s.endsWith('\n') ? s.slice(0, -1) : s;
  if (t.startsWith('+')) t = t.slice(1);
  let b = base;
  if (b === 0) {
    if (t[0] === '0' && (t[1] === 'x' || t[1] === 'X') && /^[0-9a-fA-F]$/.test(t[2] ?? '')) {
      b = 16;
      t = t.slice(2);
    } else if (t[0] === '0') b = 8;
    else b = 10;
  } else if (b === 16 && t[0] === '0' && (t[1] === 'x' || t[1] === 'X')) t = t.slice(2);
  if (t.length === 0) return { ok: false, errno: 'EINVAL', reason: 'no digits' };
  let v = 0n;
  for (const c of t) {
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= b) return { ok: false, errno: 'EINVAL', reason: `${excerpt(c, 8, "'")} is not a base-${b} digit` };
    v = v * BigInt(b) + BigInt(d);
    if (v > 0xffffffffffffffffn) return { ok: false, errno: 'ERANGE', reason: 'out of range' };
  }
  return { ok: true, value: v };
}

/** kstrto{u,s}{8,16,32,64}(s, base). */
export function kstrtoint(s: string, signed: boolean, bits: 8 | 16 | 32 | 64, base = 0): ParseResult<bigint> {
  let neg = false;
  let t = s;
  if (signed && t.startsWith('-')) {
    neg = true;
    t = t.slice(1);
  }
  const r = kstrtoull(t, base);
  if (!r.ok) return r;
  const v = neg ? -r.value : r.value;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  if (v > max || v < min) return { ok: false, errno: 'ERANGE', reason: `out of range for a ${signed ? 's' : 'u'}${bits} (${min}..${max})` };
  return { ok: true, value: v };
}

/** kstrtobool: y/Y/t/T/1, n/N/f/F/0, on/off. */
export function kstrtobool(s: string): ParseResult<boolean> {
  const c = s[0];
  if (c === undefined) return { ok: false, errno: 'EINVAL', reason: 'empty' };
  if ('yYtT1'.includes(c)) return { ok: true, value: true };
  if ('nNfF0'.includes(c)) return { ok: true, value: false };
  if (c === 'o' || c === 'O') {
    const d = s[1];
    if (d === 'n' || d === 'N') return { ok: true, value: true };
    if (d === 'f' || d === 'F') return { ok: true, value: false };
  }
  return { ok: false, errno: 'EINVAL', reason: 'not a boolean (y/n/1/0/on/off)' };
}

/** Longest value a charp parameter takes (param_set_charp: > 1024 ⇒ ENOSPC). */
export const CHARP_MAX = 1024;

/**
 * Types whose ops carry KERNEL_PARAM_OPS_FL_NOARG (a bare name is fine):
 * param_ops_bool, param_ops_bool_enable_only and param_ops_bint. Not
 * param_ops_invbool: a bare invbool name is -EINVAL (seen in the QEMU tier).
 */
export const NOARG_TYPES: ReadonlySet<string> = new Set(['bool', 'bool_enable_only', 'bint']);

/**
 * Validate one value for a standard parameter type the way its param_set_*
 * op would. `ptrBits` is the module's pointer size (long/ulong width).
 */
export function validateScalar(type: string, value: string, ptrBits: 32 | 64): ParseResult<unknown> {
  switch (type) {
    case 'byte':
      return kstrtoint(value, false, 8);
    case 'short':
      return kstrtoint(value, true, 16);
    case 'ushort':
      return kstrtoint(value, false, 16);
    case 'int':
      return kstrtoint(value, true, 32);
    case 'uint':
    case 'hexint':
      return kstrtoint(value, false, 32);
    case 'long':
      return kstrtoint(value, true, ptrBits);
    case 'ulong':
      return kstrtoint(value, false, ptrBits);
    case 'ullong':
      return kstrtoint(value, false, 64);
    case 'bool':
    case 'invbool':
    case 'bool_enable_only':
    case 'bint':
      return kstrtobool(value);
    case 'charp':
      return value.length > CHARP_MAX ? { ok: false, errno: 'ENOSPC', reason: `longer than ${CHARP_MAX} characters` } : { ok: true, value };
    default:
      return { ok: true, value };
  }
}
