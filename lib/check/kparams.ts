/**
 * The kernel's module-parameter parsing, modelled for pre-flight checks
 * (kernel/params.c parse_args/parse_one, lib/cmdline.c next_arg, lib/kstrtox.c,
 * the param_set_* ops). Written from the documented behaviour; pure.
 */

export interface ParamArg {
  readonly name: string;
  /** undefined = no '=' at all (a bare flag). */
  readonly value?: string;
}

/** "name=value" / "name" items, or a name → value record, as a list. */
export function paramArgs(params: readonly string[] | Readonly<Record<string, string>>): ParamArg[] {
  if (Array.isArray(params)) {
    return (params as readonly string[]).map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? { name: p } : { name: p.slice(0, eq), value: p.slice(eq + 1) };
    });
  }
  return Object.entries(params as Record<string, string>).map(([name, value]) => ({ name, value }));
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/**
 * The parameter string a loader passes to init_module: items joined by
 * spaces, a value with whitespace wrapped in double quotes (what kmod's
 * modprobe does with command-line options).
 */
export function paramString(args: readonly ParamArg[]): string {
  return args
    .map((a) => {
      if (a.value === undefined) return a.name;
      return /[\s]/.test(a.value) ? `${a.name}="${a.value}"` : `${a.name}=${a.value}`;
    })
    .join(' ');
}

/** Split a parameter string the way the kernel's next_arg() does. */
export function splitKernelArgs(s: string): ParamArg[] {
  const out: ParamArg[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSpace(s[i])) i++;
    if (i >= s.length) break;
    let start = i;
    let quoted = false;
    if (s[i] === '"') {
      start = ++i;
      quoted = true;
    }
    let inQuote = quoted;
    let eq = -1;
    let j = start;
    for (; j < s.length; j++) {
      const c = s[j];
      if (isSpace(c) && !inQuote) break;
      if (eq < 0 && c === '=') eq = j;
      if (c === '"') inQuote = !inQuote;
    }
    let token = s.slice(start, j);
    // a token that began with a quote loses a trailing quote
    if (quoted && token.endsWith('"')) token = token.slice(0, -1);
    const e = eq < 0 ? -1 : eq - start;
    if (e <= 0 || e > token.length) {
      out.push({ name: token });
    } else {
      const name = token.slice(0, e);
      let value = token.slice(e + 1);
      if (value.startsWith('"')) {
        value = value.slice(1);
        if (value.endsWith('"')) value = value.slice(0, -1);
      }
      out.push({ name, value });
    }
    i = j;
  }
  return out;
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
    if (Number.isNaN(d) || d >= b) return { ok: false, errno: 'EINVAL', reason: `'${c}' is not a base-${b} digit` };
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
