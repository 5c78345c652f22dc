/**
 * Module-name rules shared by kmod and the kernel.
 */

/** Kernel module name from a name or file name: '-' becomes '_', cut at the first '.'. */
export function modnameNormalize(name: string): string {
  let out = '';
  for (const c of name) {
    if (c === '.') break;
    out += c === '-' ? '_' : c;
  }
  return out;
}

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
  let out = '';
  let inBracket = false;
  for (const c of alias) {
    if (c === '[') inBracket = true;
    else if (c === ']') {
      if (!inBracket) return null;
      inBracket = false;
    }
    out += c === '-' && !inBracket ? '_' : c;
  }
  return inBracket ? null : out;
}

/** fnmatch(3) with flags 0: '*', '?', '[...]' (with '!' / '^' negation and ranges), '\\' escapes. */
export function fnmatch(pattern: string, text: string): boolean {
  return matchAt(pattern, 0, text, 0);
}

function matchAt(p: string, pi: number, t: string, ti: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      for (let k = ti; k <= t.length; k++) if (matchAt(p, pi, t, k)) return true;
      return false;
    }
    if (ti >= t.length) return false;
    if (c === '?') {
      pi++;
      ti++;
      continue;
    }
    if (c === '[') {
      const r = matchClass(p, pi, t[ti]);
      if (r === null) {
        // no closing bracket: '[' is literal
        if (t[ti] !== '[') return false;
        pi++;
        ti++;
        continue;
      }
      if (!r.matched) return false;
      pi = r.next;
      ti++;
      continue;
    }
    if (c === '\\' && pi + 1 < p.length) {
      if (p[pi + 1] !== t[ti]) return false;
      pi += 2;
      ti++;
      continue;
    }
    if (c !== t[ti]) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
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
