/**
 * depmod.d configuration, pure: parsing one file's text (kmod 30's line
 * reader and commands) and the priority rule for two copies of a module.
 */

export type SearchEntry = { kind: 'path'; path: string } | { kind: 'built-in' } | { kind: 'external' };

export interface DepmodConfig {
  /** kmod's list order: the last `search` token first (kmod prepends). */
  searches: SearchEntry[];
  /** "SUBDIR/MOD" without extension, kmod's list order (prepended). */
  overrides: string[];
  /** Absolute directories, kmod's list order (prepended). */
  externals: string[];
  excludes: string[];
}

export function emptyConfig(): DepmodConfig {
  return { searches: [], overrides: [], externals: [], excludes: [] };
}

/** kmod's freadline_wrapped: backslash-newline joins lines, any other backslash is dropped. Returns [last physical line number, text]. */
export function configLines(text: string): [number, string][] {
  const out: [number, string][] = [];
  let line = '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] === '\n') n++;
      else line += text[i + 1];
      i++;
      continue;
    }
    if (c === '\n') {
      out.push([++n, line]);
      line = '';
      continue;
    }
    line += c;
  }
  if (line) out.push([n + 1, line]);
  return out;
}

function kernelMatches(kver: string, pattern: string): boolean {
  if (pattern === '*') return true;
  try {
    return new RegExp(pattern).test(kver);
  } catch {
    return false;
  }
}

/** Apply one depmod.d file to cfg; returns kmod's messages for it. */
export function parseDepmodConfig(cfg: DepmodConfig, text: string, filename: string, kver: string): string[] {
  const messages: string[] = [];
  for (const [lineno, line] of configLines(text)) {
    if (line === '' || line[0] === '#') continue;
    const tok = line.split(/[\t ]+/).filter((t) => t !== '');
    const cmd = tok[0];
    if (cmd === undefined) continue;
    const bad = (): void => { messages.push(`depmod: ERROR: ${filename}:${lineno}: ignoring bad line starting with '${cmd}'`); };
    if (cmd === 'search') {
      for (const t of tok.slice(1)) {
        cfg.searches.unshift(t === 'built-in' ? { kind: 'built-in' } : t === 'external' ? { kind: 'external' } : { kind: 'path', path: t });
      }
    } else if (cmd === 'override') {
      const [, mod, ver, subdir] = tok;
      if (!mod || !ver || !subdir) { bad(); continue; }
      if (!kernelMatches(kver, ver)) continue;
      cfg.overrides.unshift(`${subdir}/${mod}`);
    } else if (cmd === 'external') {
      const [, ver, dir] = tok;
      if (!ver || !dir) { bad(); continue; }
      if (!kernelMatches(kver, ver)) continue;
      cfg.externals.unshift(dir);
    } else if (cmd === 'exclude') {
      cfg.excludes.unshift(...tok.slice(1).reverse());
    } else if (cmd === 'include' || cmd === 'make_map_files') {
      // kmod: INFO "command not implemented yet" (not shown at default verbosity)
    } else {
      bad();
    }
  }
  return messages;
}

/** After all files: with no `search` at all, kmod searches `updates` only. */
export function finishConfig(cfg: DepmodConfig): void {
  if (cfg.searches.length === 0) cfg.searches.push({ kind: 'path', path: 'updates' });
}

function startsWithDir(path: string, dir: string): boolean {
  return path.length > dir.length && path[dir.length] === '/' && path.startsWith(dir);
}

/**
 * kmod's depmod_module_is_higher_priority: true when the copy already kept
 * (oldPath) beats the new one. Paths are absolute; dirname is the modules dir.
 */
export function keepsExisting(cfg: DepmodConfig, dirname: string, oldPath: string, newPath: string): boolean {
  const rel = (p: string): string | null => (p.startsWith(dirname) ? p.slice(dirname.length + 1) : null);
  // kmod compares "SUBDIR/MOD" against the path cut at the module name's end.
  const stem = (p: string | null): string | null => {
    if (p === null) return null;
    const slash = p.lastIndexOf('/');
    const dot = p.indexOf('.', slash + 1);
    return dot < 0 ? p : p.slice(0, dot);
  };
  const relNew = rel(newPath), relOld = rel(oldPath);
  const stemNew = stem(relNew), stemOld = stem(relOld);
  for (const ov of cfg.overrides) {
    if (stemNew === ov) return false;
    if (stemOld === ov) return true;
  }
  let bprio = -1, oldprio = -1, newprio = -1;
  let i = 0;
  for (const se of cfg.searches) {
    if (se.kind === 'built-in') bprio = i;
    else if (se.kind === 'external') {
      for (const ext of cfg.externals) {
        if (startsWithDir(newPath, ext)) newprio = i;
        if (startsWithDir(oldPath, ext)) oldprio = i;
        i++;
      }
    } else {
      if (relNew !== null && startsWithDir(relNew, se.path)) newprio = i;
      else if (relOld !== null && startsWithDir(relOld, se.path)) oldprio = i;
    }
    i++;
  }
  if (newprio < 0) newprio = bprio;
  if (oldprio < 0) oldprio = bprio;
  return newprio <= oldprio;
}
