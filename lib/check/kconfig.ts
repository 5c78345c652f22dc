/**
 * A kernel `.config` (also /proc/config.gz, /boot/config-<release>). Pure.
 *
 *   CONFIG_FOO=y | m | 123 | 0x1f | "string with \"escapes\""
 *   # CONFIG_FOO is not set
 *
 * Other comment lines and blank lines are ignored; any other line raises
 * KmodkitError 'ETARGET' naming the line (quoting at most a short excerpt
 * of it). Symbols are stored without the `CONFIG_` prefix; lookups accept
 * either spelling. A text over INPUT_LIMITS.kconfig is 'ETOOBIG'; the parse
 * is linear in the text.
 */
import { KmodkitError } from '../errors.js';
import { excerpt } from '../excerpt.js';
import { INPUT_LIMITS, checkInputSize } from '../input-limits.js';

export type KconfigValue =
  | { readonly kind: 'y' | 'm' | 'n' }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: string };

export interface Kconfig {
  /** Symbol (no CONFIG_ prefix) → value; '# … is not set' is stored as kind 'n'. */
  readonly values: ReadonlyMap<string, KconfigValue>;
}

const SET_RE = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET_RE = /^# CONFIG_([A-Za-z0-9_]+) is not set\s*$/;

function unquote(s: string, line: number): string {
  if (s.length < 2 || !s.endsWith('"')) throw new KmodkitError('ETARGET', `.config line ${line}: unterminated string ${excerpt(s)}`, { detail: { line } });
  // pieces between escapes, sliced (not one character at a time): linear in the value
  const parts: string[] = [];
  const end = s.length - 1;
  let from = 1;
  for (let i = 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c /* \\ */ && i + 1 < end) {
      parts.push(s.slice(from, i));
      from = ++i; // the escaped character is kept as it is
    } else if (c === 0x22 /* " */) {
      throw new KmodkitError('ETARGET', `.config line ${line}: unescaped quote in string ${excerpt(s)}`, { detail: { line } });
    }
  }
  parts.push(s.slice(from, end));
  return parts.length === 1 ? parts[0] : parts.join('');
}

/** The three bool values, shared: a .config has thousands of them. */
const Y: KconfigValue = Object.freeze({ kind: 'y' });
const M: KconfigValue = Object.freeze({ kind: 'm' });
const N: KconfigValue = Object.freeze({ kind: 'n' });

function boolValue(v: string): KconfigValue {
  return v === 'y' ? Y : v === 'm' ? M : N;
}

/**
 * The common lines, one sticky expression (checked by the regex engine in
 * native code, not a loop of interpreted JavaScript): a blank line, a comment
 * that does not start with `# CONFIG_`, `# CONFIG_FOO is not set`, or
 * `CONFIG_FOO=` with y/m/n, a number, a string without escapes, or nothing;
 * each exactly as it stands, up to an optional '\r'. A line that matches
 * means what parseLine() makes of it; every other line (whitespace around
 * it, escapes, errors) goes to parseLine().
 * Captures: 1 unset symbol, 2 set symbol, 3 bool, 4 number, 5 string.
 * Made sticky per parse (a sticky expression carries its position).
 */
const FAST_LINE = /(?:# CONFIG_([A-Za-z0-9_]+) is not set|#(?! CONFIG_)[^\n\r]*|CONFIG_([A-Za-z0-9_]+)=(?:([ymn])|(-?(?:0[xX][0-9a-fA-F]+|[0-9]+))|"([^"\\\n\r]*)"|)|)\r?(?=\n|$)/;

/** One line, the general way: [symbol, value], or null for a blank or comment line. */
function parseLine(raw: string, line: number): [string, KconfigValue] | null {
  const t = raw.trim();
  if (t === '') return null;
  const unset = UNSET_RE.exec(t);
  if (unset) return [unset[1], N];
  if (t.startsWith('#')) return null;
  const m = SET_RE.exec(t);
  if (!m) throw new KmodkitError('ETARGET', `.config line ${line}: not a CONFIG_ assignment: ${excerpt(t)}`, { detail: { line } });
  const v = m[2];
  let value: KconfigValue;
  if (v === 'y' || v === 'm' || v === 'n') value = boolValue(v);
  else if (v.startsWith('"')) value = { kind: 'string', value: unquote(v, line) };
  else if (/^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(v)) value = { kind: 'number', value: v };
  else if (v === '') value = { kind: 'string', value: '' };
  else throw new KmodkitError('ETARGET', `.config line ${line}: bad value for CONFIG_${excerpt(m[1])}: ${excerpt(v)}`, { detail: { line } });
  return [m[1], value];
}

export function parseKconfig(text: string): Kconfig {
  checkInputSize(INPUT_LIMITS.kconfig, text.length);
  const values = new Map<string, KconfigValue>();
  const fast = new RegExp(FAST_LINE, 'y');
  let lineNo = 0;
  for (let s = 0; s <= text.length; ) {
    lineNo++;
    fast.lastIndex = s;
    const m = fast.exec(text);
    if (m !== null) {
      const next = fast.lastIndex + 1;
      if (m[1] !== undefined) values.set(m[1], N);
      else if (m[2] !== undefined) {
        values.set(m[2], m[3] !== undefined ? boolValue(m[3]) : m[4] !== undefined ? { kind: 'number', value: m[4] } : { kind: 'string', value: m[5] ?? '' });
      }
      s = next;
      continue;
    }
    let nl = text.indexOf('\n', s);
    if (nl < 0) nl = text.length;
    const r = parseLine(text.slice(s, nl > s && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl), lineNo);
    if (r !== null) values.set(r[0], r[1]);
    s = nl + 1;
  }
  return { values };
}

function key(name: string): string {
  return name.startsWith('CONFIG_') ? name.slice(7) : name;
}

export function kconfigValue(cfg: Kconfig, name: string): KconfigValue | undefined {
  return cfg.values.get(key(name));
}

/** y → true, m → true, n / not set → false (a .config lists every visible symbol, absent ones are off). */
export function kconfigEnabled(cfg: Kconfig, name: string): boolean {
  const v = cfg.values.get(key(name));
  return v !== undefined && (v.kind === 'y' || v.kind === 'm');
}

/** y only (built in). */
export function kconfigBuiltin(cfg: Kconfig, name: string): boolean {
  return cfg.values.get(key(name))?.kind === 'y';
}

/** Whether the symbol appears at all (set or '# … is not set'). */
export function kconfigMentions(cfg: Kconfig, name: string): boolean {
  return cfg.values.has(key(name));
}

/** String or number value as text; undefined for bools and absent symbols. */
export function kconfigString(cfg: Kconfig, name: string): string | undefined {
  const v = cfg.values.get(key(name));
  return v && (v.kind === 'string' || v.kind === 'number') ? v.value : undefined;
}
