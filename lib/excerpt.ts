/**
 * How input text appears in messages. Pure.
 *
 * - `excerpt()`: the one way an error message quotes input (a line of a
 *   .config, a Module.symvers field, a parameter value, a modprobe.d word):
 *   at most a short prefix, quoted, control characters escaped, and the
 *   length of what was left out. A message never carries a whole file or
 *   a whole 64 MiB value, so neither the work nor the disclosure of an
 *   error grows with the input.
 * - `escapeControls()`: text from a module or a file made safe for a
 *   terminal: C0 controls (ESC, BEL, CR ...), DEL and C1 controls (0x80-0x9f,
 *   CSI/OSC for 8-bit terminals) become `\xNN` / `\e`, so a module's strings
 *   cannot move the cursor, set the title, hide text or write hyperlinks.
 *   Tab and newline are kept where `keepLayout` says so.
 */

/** Characters of input an error message quotes by default. */
export const EXCERPT_CHARS = 64;

// C0 (0x00-0x1f), DEL, C1 (0x80-0x9f), and the bidirectional overrides and
// isolates (U+202A-U+202E, U+2066-U+2069), which reorder what follows.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_LAYOUT = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const n = c.charCodeAt(0);
  if (n === 0x1b) return '\\e';
  if (n === 0x09) return '\\t';
  if (n === 0x0a) return '\\n';
  if (n === 0x0d) return '\\r';
  return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`;
}

/** `s` with every control character written as an escape (`\e`, `\x07`, `\x9b` ...); tab and newline too unless `keepLayout`. */
export function escapeControls(s: string, keepLayout = false): string {
  const re = keepLayout ? CONTROLS_BUT_LAYOUT : CONTROLS;
  re.lastIndex = 0;
  return re.test(s) ? s.replace(re, escapeOne) : s;
}

/**
 * `value` quoted for a message: its first `max` characters (default 64),
 * control characters escaped, and "… (N more characters)" when cut. In
 * double quotes (inner ones escaped) unless `quote` is "'", the quoting
 * kmod's messages use. Only the
 * quoted part is ever read: the cost does not depend on the value's length.
 */
export function excerpt(value: string | Uint8Array, max = EXCERPT_CHARS, quote: '"' | "'" = '"'): string {
  const length = value.length;
  const head = typeof value === 'string' ? value.slice(0, max) : latin1(value.subarray(0, max));
  const body = escapeControls(head);
  const shown = quote === '"' ? `"${body.replace(/"/g, '\\"')}"` : `'${body}'`;
  return length > max ? `${shown}… (${length - max} more ${typeof value === 'string' ? 'characters' : 'bytes'})` : shown;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
