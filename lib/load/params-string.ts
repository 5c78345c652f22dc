/**
 * The parameter string handed to init_module(2)/finit_module(2).
 *
 * The kernel splits it with next_arg() (lib/cmdline.c) and applies each
 * `name[=value]` with parse_one() (kernel/params.c):
 *
 * - tokens end at whitespace (the kernel's Latin-1 isspace(), on the UTF-8
 *   bytes: 0xA0 counts) outside double quotes; every `"`
 *   toggles the in-quote state, and there is no escape character;
 * - the token splits at its first `=`; no `=` means "no value" (NULL), which
 *   only boolean parameters accept;
 * - a value starting with `"` loses that quote and a `"` at the token's end.
 *
 * So a value with whitespace is wrapped in double quotes (kmod's rule: only
 * when it does not already start with a quote), and whatever that scheme
 * cannot carry is refused with KmodkitError 'EINPUT' before the kernel sees
 * it: a NUL byte, a double quote inside a value that must be quoted, an odd
 * number of quotes (the rest of the line would be swallowed), single-quote
 * "quoting" of whitespace (the kernel does not know single quotes), names
 * with whitespace, `=` or `"`, and the bare `--` (which ends parsing).
 * Every string built here is checked by re-splitting it the kernel's way
 * (splitKernelArgs in lib/check/kparams.ts, the one splitter) and comparing
 * with what was meant, so no value can start a second parameter.
 *
 * With the module's `__param` table (lib/module/params.ts) the values are
 * also checked against the parameter types the way the kernel's setters
 * parse them (kstrto* base 0 with range, kstrtobool, charp ≤ 1024 bytes,
 * module_param_string's buffer, array element counts).
 */
import { KmodkitError } from '../errors.js';
import { excerpt } from '../excerpt.js';
import type { KernelParam, ParamType } from '../module/params.js';
import { hasKernelSpace, splitKernelArgs, validateScalar, NOARG_TYPES, type KernelArg, type ParamScalar, type ParamValue, type ParamsInput } from '../check/kparams.js';

export { splitKernelArgs };

// One parameter type for check and load (CheckOptions.params, LoadOptions.params).
export type { ParamScalar, ParamValue, ParamsInput };

/** One parameter as the kernel will see it. `value` null = no `=`. */
export type ParamArg = KernelArg;

export interface ParamProblem {
  readonly param: string;
  /** 'syntax' = cannot be expressed; 'unknown' = no such parameter; 'type' = bad value; 'count' = too many array elements; 'too-long'. */
  readonly kind: 'syntax' | 'unknown' | 'type' | 'count' | 'too-long' | 'missing-value';
  readonly message: string;
  /** errno the kernel would fail the load with (type problems), when it fails it. */
  readonly errno?: string;
}

export interface ParamsStringOptions {
  /** The module's decoded parameters (decodeParams(mod).params); enables name/type checks. */
  readonly params?: readonly KernelParam[];
  /** Module name, for messages. */
  readonly module?: string;
  /**
   * Unknown names: the kernel logs "unknown parameter 'x' ignored" and loads
   * anyway. Default 'error' (catch typos); 'ignore' lets them through.
   */
  readonly unknown?: 'error' | 'ignore';
  /** Bits of `long`/`ulong` on the target (default 64; 32 for ELF32 modules). */
  readonly longBits?: 32 | 64;
}

const hasSpace = hasKernelSpace;

function inputError(message: string, detail: Record<string, unknown>): KmodkitError {
  return new KmodkitError('EINPUT', message, { detail });
}

function checkName(name: string, where: string): void {
  if (name === '') throw inputError(`parameter ${where}: empty name`, { param: name, problem: 'syntax' });
  if (name.includes('\0')) throw inputError(`parameter ${q(name.replace(/\0/g, '\\0'))}: NUL byte in the name`, { param: name, problem: 'syntax' });
  if (hasSpace(name)) throw inputError(`parameter ${q(name)}: whitespace in a name cannot be passed (the kernel splits there)`, { param: name, problem: 'syntax' });
  if (name.includes('"')) throw inputError(`parameter ${q(name)}: a double quote in a name cannot be passed`, { param: name, problem: 'syntax' });
  if (name.includes('=')) throw inputError(`parameter ${q(name)}: '=' in a name cannot be passed (the kernel splits at the first '=')`, { param: name, problem: 'syntax' });
  if (name === '--') throw inputError(`parameter '--': a bare '--' ends the kernel's parameter parsing`, { param: name, problem: 'syntax' });
}

/** Does `token` (followed by more parameters) split back into exactly `want`? */
function roundTrips(token: string, want: ParamArg): boolean {
  const r = splitKernelArgs(`${token} kmodkit_probe=1`);
  if (r.rest !== undefined || r.args.length !== 2) return false;
  const [a, b] = r.args;
  return a.name === want.name && a.value === want.value && b.name === 'kmodkit_probe' && b.value === '1';
}

/** A value in a message: at most a short excerpt (lib/excerpt.ts), never a whole 64 MiB value. */
function describe(v: string): string {
  return excerpt(v);
}

/** A name in a message, in single quotes as before: short excerpt, controls escaped. */
function q(v: string): string {
  return excerpt(v, 64, "'");
}

/** Encode one literal (name, value) pair; throws EINPUT when the kernel cannot receive it. */
function encodeLiteral(arg: ParamArg): string {
  checkName(arg.name, '');
  if (arg.value === null) return arg.name;
  const v = arg.value;
  if (v.includes('\0')) throw inputError(`parameter ${q(arg.name)}: NUL byte in the value (the string ends there)`, { param: arg.name, problem: 'syntax' });
  const plain = `${arg.name}=${v}`;
  if (!hasSpace(v) && !v.includes('"')) return plain;
  const quoted = `${arg.name}="${v}"`;
  if (hasSpace(v) && v.includes('"')) {
    throw inputError(`parameter ${q(arg.name)}: value ${describe(v)} has whitespace and a double quote; the kernel's parser has no escape for a quote inside a quoted value`, { param: arg.name, problem: 'syntax' });
  }
  if (roundTrips(plain, arg)) return plain;
  if (roundTrips(quoted, arg)) return quoted;
  throw inputError(`parameter ${q(arg.name)}: value ${describe(v)} cannot be passed: its double quotes change how the kernel splits the parameter string`, { param: arg.name, problem: 'syntax' });
}

/**
 * One insmod-style word `name[=value]` → (its kernel token, the argument the
 * kernel will see). kmod's rule: a value with whitespace is wrapped in double
 * quotes unless it starts with `"` or `'`; a value starting with `"` is the
 * user's own quoting.
 */
function encodeWord(word: string): { token: string; arg: ParamArg } {
  if (word.includes('\0')) throw inputError(`parameter ${describe(word.replace(/\0/g, '\\0'))}: NUL byte`, { param: word, problem: 'syntax' });
  const eq = word.indexOf('=');
  if (eq <= 0) {
    if (eq === 0) throw inputError(`parameter ${describe(word)}: empty name`, { param: word, problem: 'syntax' });
    checkName(word, '');
    return { token: word, arg: { name: word, value: null } };
  }
  const name = word.slice(0, eq);
  checkName(name, '');
  const raw = word.slice(eq + 1);
  if (raw.startsWith('"')) {
    // The user quoted it: the kernel drops the leading quote and one at the end.
    const inner = raw.length > 1 && raw.endsWith('"') ? raw.slice(1, -1) : raw.slice(1);
    const arg = { name, value: inner };
    if (!roundTrips(word, arg)) {
      throw inputError(`parameter ${q(name)}: value ${describe(raw)} is not one kernel token (unbalanced or inner double quotes)`, { param: name, problem: 'syntax' });
    }
    return { token: word, arg };
  }
  if (raw.startsWith("'") && hasSpace(raw)) {
    throw inputError(`parameter ${q(name)}: value ${describe(raw)} uses single quotes, which the kernel does not understand (it would split at the whitespace); use double quotes`, { param: name, problem: 'syntax' });
  }
  const arg = { name, value: raw };
  return { token: encodeLiteral(arg), arg };
}

function scalarText(name: string, v: ParamScalar): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? '1' : '0';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v)) throw inputError(`parameter ${q(name)}: ${v} is not a finite number`, { param: name, problem: 'type' });
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) {
        throw inputError(`parameter ${q(name)}: ${v} is beyond 2^53 and loses precision; pass a bigint or a string`, { param: name, problem: 'type' });
      }
      return String(v);
    default:
      throw inputError(`parameter ${q(name)}: unsupported value type ${typeof v}`, { param: name, problem: 'type' });
  }
}

/** Literal text of an object value (null = bare name). */
function valueText(name: string, v: ParamValue): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) {
    return (v as readonly ParamScalar[])
      .map((e) => {
        const t = scalarText(name, e);
        if (t.includes(',')) throw inputError(`parameter ${q(name)}: array element ${describe(t)} contains ',', the element separator`, { param: name, problem: 'syntax' });
        return t;
      })
      .join(',');
  }
  return scalarText(name, v as ParamScalar);
}

/**
 * The (name, value) pairs the kernel will see, and their tokens. Throws
 * EINPUT for anything the kernel's parser cannot express.
 */
export function encodeParams(input: ParamsInput): { tokens: string[]; args: ParamArg[] } {
  if (typeof input === 'string') {
    if (input.includes('\0')) throw inputError('parameter string contains a NUL byte', { problem: 'syntax' });
    const r = splitKernelArgs(input);
    if (!input.includes('\uFFFD') && r.args.some((a) => a.name.includes('\uFFFD') || (a.value ?? '').includes('\uFFFD'))) {
      throw inputError(`parameter string ${describe(input)} is split by the kernel inside a UTF-8 character (its byte 0xA0 is whitespace to the kernel); quote that value`, { problem: 'syntax' });
    }
    if (r.rest !== undefined) throw inputError(`a bare '--' in the parameter string ends the kernel's parsing; ${q(r.rest)} would be ignored`, { problem: 'syntax' });
    for (const a of r.args) checkName(a.name, '');
    return { tokens: input.trim() === '' ? [] : [input], args: r.args };
  }
  const tokens: string[] = [];
  const args: ParamArg[] = [];
  if (Array.isArray(input)) {
    for (const w of input as readonly string[]) {
      if (typeof w !== 'string') throw inputError('parameter list entries must be strings', { problem: 'syntax' });
      const { token, arg } = encodeWord(w);
      tokens.push(token);
      args.push(arg);
    }
  } else {
    for (const [name, v] of Object.entries(input as Record<string, ParamValue | undefined>)) {
      if (v === undefined) continue;
      const arg = { name, value: valueText(name, v) };
      tokens.push(encodeLiteral(arg));
      args.push(arg);
    }
  }
  return { tokens, args };
}

// ---------------------------------------------------------------------------
// Type checks (what the kernel's param_set_* would say)
// ---------------------------------------------------------------------------

/** parameq(): '-' and '_' are the same character in parameter names. */
export function paramNameEq(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] === '-' ? '_' : a[i];
    const y = b[i] === '-' ? '_' : b[i];
    if (x !== y) return false;
  }
  return true;
}

/** A scalar value as the kernel's param_set_* would parse it (lib/check/kparams.ts); null = fine. */
function checkScalar(type: ParamType, value: string, longBits: 32 | 64): { reason: string; errno: string } | null {
  if (type === 'custom' || type === 'unknown' || type === 'array' || type === 'string') return null; // the module decides / handled elsewhere
  const r = validateScalar(type, value, longBits);
  return r.ok ? null : { reason: `${q(value)} invalid for ${type}: ${r.reason}`, errno: r.errno };
}

/** Check the pairs against the module's parameters. Returns every problem found. */
export function checkParamArgs(args: readonly ParamArg[], params: readonly KernelParam[], opts: Pick<ParamsStringOptions, 'unknown' | 'longBits' | 'module'> = {}): ParamProblem[] {
  const out: ParamProblem[] = [];
  const longBits = opts.longBits ?? 64;
  for (const a of args) {
    const p = params.find((x) => paramNameEq(x.name, a.name));
    if (!p) {
      // handled by the module loader itself, not the module
      if (a.name === 'dyndbg' || a.name === 'async_probe') continue;
      if ((opts.unknown ?? 'error') === 'error') {
        const known = params.map((x) => x.name).join(', ') || '(none)';
        out.push({ param: a.name, kind: 'unknown', message: `${opts.module ?? 'module'} has no parameter ${q(a.name)} (the kernel would ignore it); known: ${known}` });
      }
      continue;
    }
    const t = p.type;
    if (a.value === null) {
      if (!NOARG_TYPES.has(t) && t !== 'custom' && t !== 'unknown') {
        out.push({ param: a.name, kind: 'missing-value', message: `parameter ${q(a.name)} (${t === 'array' ? `array of ${p.elementType}` : t}) needs a value`, errno: 'EINVAL' });
      }
      continue;
    }
    if (t === 'string') {
      const len = new TextEncoder().encode(a.value).length;
      if (p.maxLength !== undefined && len + 1 > p.maxLength) {
        out.push({ param: a.name, kind: 'too-long', message: `${q(a.value)} is ${len} bytes; parameter ${q(a.name)} holds at most ${p.maxLength - 1}`, errno: 'ENOSPC' });
      }
      continue;
    }
    if (t === 'array') {
      const elems = a.value.split(',');
      if (p.maxCount !== undefined && elems.length > p.maxCount) {
        out.push({ param: a.name, kind: 'count', message: `parameter ${q(a.name)} takes at most ${p.maxCount} elements, got ${elems.length}`, errno: 'EINVAL' });
      }
      const et = p.elementType;
      if (et) {
        for (const [i, e] of elems.entries()) {
          const err = checkScalar(et, e, longBits);
          if (err) out.push({ param: a.name, kind: err.errno === 'ENOSPC' ? 'too-long' : 'type', message: `parameter ${q(a.name)} element ${i}: ${err.reason}`, errno: err.errno });
        }
      }
      continue;
    }
    const err = checkScalar(t, a.value, longBits);
    if (err) out.push({ param: a.name, kind: err.errno === 'ENOSPC' ? 'too-long' : 'type', message: `parameter ${q(a.name)}: ${err.reason}`, errno: err.errno });
  }
  return out;
}

/**
 * Build the parameter string for init_module/finit_module. Throws
 * KmodkitError 'EINPUT' (detail.problems lists every problem) when a value
 * cannot be expressed or, given `opts.params`, does not fit the module.
 */
export function buildParamsString(input: ParamsInput | undefined, opts: ParamsStringOptions = {}): string {
  if (input === undefined) return '';
  const { tokens, args } = encodeParams(input);
  const text = tokens.join(' ');
  // Belt and braces: the whole string must split back into exactly the pairs meant.
  const back = splitKernelArgs(text);
  const same = back.rest === undefined && back.args.length === args.length && back.args.every((a, i) => a.name === args[i].name && a.value === args[i].value);
  if (!same) throw inputError(`parameter string ${describe(text)} does not split back into the parameters given`, { problem: 'syntax', text });
  if (opts.params) {
    const problems = checkParamArgs(args, opts.params, opts);
    if (problems.length) {
      throw new KmodkitError('EINPUT', problems.length === 1 ? problems[0].message : `${problems[0].message} (and ${problems.length - 1} more)`, {
        detail: { problems, module: opts.module },
      });
    }
  }
  return text;
}

/** The pairs a parameter input means (for the pre-flight check, and for logs). */
export function paramArgs(input: ParamsInput | undefined): ParamArg[] {
  return input === undefined ? [] : encodeParams(input).args;
}
