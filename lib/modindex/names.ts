/**
 * Module-name rules shared by kmod and the kernel.
 */

/** Kernel module name from a name or file name: '-' becomes '_', cut at the first '.'. */
export function modnameNormalize(name: string): string {
  const dot = name.indexOf('.');
  const base = dot >= 0 ? name.slice(0, dot) : name;
  return base.includes('-') ? base.replaceAll('-', '_') : base;
}

/** A module file's name: `.ko`, optionally compressed (`.ko.gz`, `.ko.xz`, `.ko.zst`), as kmod recognises them. */
export const MODULE_FILE_RE = /\.ko(\.(gz|xz|zst))?$/;

/** Module name of a file path: its basename, normalised. */
export function modnameFromPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return modnameNormalize(slash >= 0 ? path.slice(slash + 1) : path);
}

/**
 * kmod's alias normalisation: '-' becomes '_' except inside [...] groups;
 * an unbalanced ']' makes the alias invalid (null).
 */
export function aliasNormalize(alias: string): string | null {
  // most aliases have no '-' and no bracket: returned as they are, nothing built
  let special = -1;
  for (let i = 0; i < alias.length; i++) {
    const c = alias.charCodeAt(i);
    if (c === 0x2d || c === 0x5b || c === 0x5d) { special = i; break; }
  }
  if (special < 0) return alias;
  const out: string[] = [alias.slice(0, special)];
  let inBracket = false;
  let from = special;
  for (let i = special; i < alias.length; i++) {
    const c = alias.charCodeAt(i);
    if (c === 0x5b) inBracket = true;
    else if (c === 0x5d) {
      if (!inBracket) return null;
      inBracket = false;
    } else if (c === 0x2d && !inBracket) {
      out.push(alias.slice(from, i), '_');
      from = i + 1;
    }
  }
  if (inBracket) return null;
  out.push(alias.slice(from));
  return out.join('');
}

/**
 * fnmatch(3) with flags 0: '*', '?', '[...]' (with '!' / '^' negation and
 * ranges), '\\' escapes. Iterative, remembering only the last '*': a
 * mismatch resumes after that star one character further on, so the work is
 * bounded by pattern length × text length (no exponential backtracking).
 */
export function fnmatch(pattern: string, text: string): boolean {
  const p = pattern;
  const t = text;
  let pi = 0;
  let ti = 0;
  let starP = -1; // pattern index just after the last '*'
  let starT = 0; // text index that star is currently made to end at
  while (ti < t.length) {
    if (pi < p.length) {
      const c = p[pi];
      if (c === '*') {
        while (p[pi] === '*') pi++;
        if (pi === p.length) return true;
        starP = pi;
        starT = ti;
        continue;
      }
      const step = matchOne(p, pi, t[ti]);
      if (step > 0) {
        pi += step;
        ti++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP;
    ti = ++starT;
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** Length of the pattern element at pi if it matches ch, else 0. */
function matchOne(p: string, pi: number, ch: string): number {
  const c = p[pi];
  if (c === '?') return 1;
  if (c === '[') {
    const r = matchClass(p, pi, ch);
    if (r === null) return ch === '[' ? 1 : 0; // no closing bracket: '[' is literal
    return r.matched ? r.next - pi : 0;
  }
  if (c === '\\' && pi + 1 < p.length) return p[pi + 1] === ch ? 2 : 0;
  return c === ch ? 1 : 0;
}

function matchClass(p: string, start: number, ch: string): { matched: boolean; next: number } | null {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (i < p.length && (first || p[i] !== ']')) {
    first = false;
    let lo = p[i];
    if (lo === '\\' && i + 1 < p.length) lo = p[++i];
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      let hi = p[i + 2];
      let adv = 3;
      if (hi === '\\' && i + 3 < p.length) {
        hi = p[i + 3];
        adv = 4;
      }
      if (ch >= lo && ch <= hi) matched = true;
      i += adv;
    } else {
      if (ch === lo) matched = true;
      i++;
    }
  }
  if (i >= p.length) return null;
  return { matched: matched !== negate, next: i + 1 };
}
