/**
 * modprobe.d configuration as libkmod reads it (libkmod-config.c): kmod
 * 34.2's by default, kmod 30's with `kmod: '30'` (the config's `kmod`). The
 * two differ in `weakdep` lines (kmod 33+ parses them, kmod 30 reports them
 * as bad), depmod's `modules.weakdep` (read by kmod 33+ only) and the prefix
 * of libkmod's error lines. Pure: the functions take file names and texts;
 * lib/io/modprobe-config.ts reads the directories, the files and /proc/cmdline.
 *
 * - files: `*.conf` (kmod 30: and `*.alias`) from each directory, one list sorted by file
 *   name; a name seen in an earlier directory hides later ones; depmod's
 *   `modules.softdep` (and `modules.weakdep`) take part in that ordering under their own names;
 * - lines: backslash-newline joins lines, any other backslash is dropped and
 *   the next character kept; `#` starts a comment only in column 0;
 * - names are "underscored" ('-' → '_' outside [...]); an unbalanced bracket
 *   makes the line bad;
 * - after the files, the kernel command line adds `MOD.PARAM[=VALUE]` as
 *   options and `modprobe.blacklist=a,b` as blacklist entries.
 */

import { DEFAULT_KMOD_COMPAT, libkmodLogPrefix, type KmodCompat } from '../kmod-compat.js';

/** Where a configuration entry came from. */
export interface ConfigSource {
  readonly file: string;
  /** 1-based line number (0 for the kernel command line). */
  readonly line: number;
}

export interface ConfigAlias { readonly pattern: string; readonly module: string; readonly source: ConfigSource }
export interface ConfigBlacklist { readonly module: string; readonly source: ConfigSource }
export interface ConfigOptions { readonly module: string; readonly options: string; readonly source: ConfigSource }
export interface ConfigCommand { readonly module: string; readonly command: string; readonly source: ConfigSource }
export interface ConfigSoftdep {
  readonly module: string;
  readonly pre: readonly string[];
  readonly post: readonly string[];
  readonly source: ConfigSource;
}
export interface ConfigWeakdep { readonly module: string; readonly deps: readonly string[]; readonly source: ConfigSource }

export interface ModprobeConfig {
  readonly aliases: ConfigAlias[];
  readonly blacklists: ConfigBlacklist[];
  readonly options: ConfigOptions[];
  readonly installs: ConfigCommand[];
  readonly removes: ConfigCommand[];
  readonly softdeps: ConfigSoftdep[];
  /** `weakdep` (kmod 33+; modules that may be used, loaded by nothing). Recorded for kmod 30 too, which reports the line as bad. */
  readonly weakdeps: ConfigWeakdep[];
  /** libkmod's error lines, in order, each ending in '\n' (kmod prints them even with -q). */
  readonly messages: string[];
  /** The kmod release whose reading (and `modprobe -c`) this follows. */
  readonly kmod: KmodCompat;
}

export function emptyConfig(kmod: KmodCompat = DEFAULT_KMOD_COMPAT): ModprobeConfig {
  return { aliases: [], blacklists: [], options: [], installs: [], removes: [], softdeps: [], weakdeps: [], messages: [], kmod };
}

/** libkmod's ERR() prefix for a libkmod-config.c message (kmod 30's source line given). */
function libkmodError(kmod: KmodCompat, fn: string, line30: number): string {
  return libkmodLogPrefix(kmod, { file: 'libkmod-config.c', line30, fn });
}

/** kmod's `underscores()`: '-' → '_' outside brackets; null on an unbalanced bracket or a missing word. */
export function underscores(s: string | undefined): string | null {
  if (s === undefined) return null;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '-') out += '_';
    else if (c === ']') return null;
    else if (c === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) return null;
      out += s.slice(i, close + 1);
      i = close;
    } else out += c;
  }
  return out;
}

/** Logical lines of a config file with the line number each ends on (kmod's freadline_wrapped). */
export function configLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let cur = '';
  let line = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      out.push({ text: cur, line });
      cur = '';
      i++;
    } else if (c === '\\') {
      if (text[i + 1] === '\n') {
        line++;
        i += 2;
      } else if (i + 1 < text.length) {
        cur += text[i + 1];
        i += 2;
      } else {
        i++;
      }
    } else {
      cur += c;
      i++;
    }
  }
  if (cur !== '') out.push({ text: cur, line: line + 1 });
  return out;
}

/** strtok_r(…, " \t") over a string, with the rest of the line after each token. */
function tokenizer(s: string): { next(): string | undefined; rest(): string | undefined } {
  let pos = 0;
  const isSep = (c: string | undefined) => c === ' ' || c === '\t';
  return {
    next() {
      while (pos < s.length && isSep(s[pos])) pos++;
      if (pos >= s.length) return undefined;
      const start = pos;
      while (pos < s.length && !isSep(s[pos])) pos++;
      const tok = s.slice(start, pos);
      if (pos < s.length) pos++; // strtok_r consumes the one separator after the token
      return tok;
    },
    // strtok_r(NULL, "\0"): everything left, or nothing when empty
    rest() {
      if (pos >= s.length) return undefined;
      const r = s.slice(pos);
      pos = s.length;
      return r;
    },
  };
}

/** Parse one modprobe.d file (or depmod's modules.softdep / modules.weakdep) into `into`, as `into.kmod`'s libkmod does. */
export function parseModprobeConf(text: string, file: string, into: ModprobeConfig): void {
  const PARSE_ERR = libkmodError(into.kmod, 'kmod_config_parse', 712);
  const DEPRECATED_ERR = libkmodError(into.kmod, 'kmod_config_parse', 708);
  for (const { text: line, line: lineno } of configLines(text)) {
    if (line === '' || line[0] === '#') continue;
    const tok = tokenizer(line);
    const cmd = tok.next();
    if (cmd === undefined) continue;
    const source = { file, line: lineno };
    let ok = true;
    switch (cmd) {
      case 'alias': {
        const pattern = underscores(tok.next());
        const module = underscores(tok.next());
        if (pattern === null || module === null) ok = false;
        else into.aliases.push({ pattern, module, source });
        break;
      }
      case 'blacklist': {
        const module = underscores(tok.next());
        if (module === null) ok = false;
        else into.blacklists.push({ module, source });
        break;
      }
      case 'options':
      case 'install':
      case 'remove':
      case 'softdep': {
        const module = underscores(tok.next());
        const rest = tok.rest();
        if (module === null || rest === undefined) {
          ok = false;
          break;
        }
        if (cmd === 'options') into.options.push({ module, options: rest.replace(/\t/g, ' '), source });
        else if (cmd === 'install') into.installs.push({ module, command: rest, source });
        else if (cmd === 'remove') into.removes.push({ module, command: rest, source });
        else into.softdeps.push({ module, ...splitSoftdep(rest), source });
        break;
      }
      case 'weakdep': {
        // kmod 33+: "weakdep MOD DEP..." (modules that may be used, loaded by nothing): the rest of the
        // line split at white space, possibly into no words. kmod 30 reports the line as bad; it is
        // recorded then too (where it has words), and reported the same way.
        const module = underscores(tok.next());
        const rest = tok.rest();
        const deps = (rest ?? '').split(/[ \t\n\v\f\r]+/).filter(Boolean);
        if (into.kmod === '30') {
          if (module !== null && deps.length) into.weakdeps.push({ module, deps, source });
          ok = false;
        } else if (module === null || rest === undefined) ok = false;
        else into.weakdeps.push({ module, deps, source });
        break;
      }
      case 'include':
      case 'config':
        into.messages.push(`${DEPRECATED_ERR}${file}: command ${cmd} is deprecated and not parsed anymore\n`);
        break;
      default:
        ok = false;
    }
    if (!ok) into.messages.push(`${PARSE_ERR}${file} line ${lineno}: ignoring bad line starting with '${cmd}'\n`);
  }
}

/** softdep's "pre: a b post: c": words before any mode are dropped; groups accumulate. */
export function splitSoftdep(rest: string): { pre: string[]; post: string[] } {
  const pre: string[] = [];
  const post: string[] = [];
  let mode: 'none' | 'pre' | 'post' = 'none';
  for (const w of rest.split(/[ \t\n\v\f\r]+/)) {
    if (!w) continue;
    if (w === 'pre:') mode = 'pre';
    else if (w === 'post:') mode = 'post';
    else if (mode === 'pre') pre.push(w);
    else if (mode === 'post') post.push(w);
  }
  return { pre, post };
}

/** `-c`'s rendering of a softdep: "pre: a b" then "post: c", with nothing between the two. */
export function softdepText(d: { pre: readonly string[]; post: readonly string[] }): string {
  return (d.pre.length ? `pre: ${d.pre.join(' ')}` : '') + (d.post.length ? `post: ${d.post.join(' ')}` : '');
}

/** The kernel command line (kmod_config_parse_kcmdline): `MOD.PARAM[=VALUE]` words and `modprobe.blacklist=`. */
export function parseKernelCmdline(text: string, into: ModprobeConfig): void {
  const source = { file: '/proc/cmdline', line: 0 };
  const buf = text;
  type State = 'ignore' | 'modname' | 'param' | 'value';
  let state: State = 'modname';
  let quoted = false;
  let quoteStart = -1;
  let modStart = 0;
  let paramStart = -1;
  let valueStart = -1;
  const complete = (end: number) => {
    let modname = buf.slice(modStart, paramStart - 1);
    let param = buf.slice(paramStart, end);
    if (quoteStart >= 0 && quoteStart < modStart && valueStart >= 0) {
      // re-quote what the boot loader passed as "mod.p=a b" into mod.p="a b"
      const eq = valueStart - paramStart;
      param = `${param.slice(0, eq)}"${param.slice(eq)}`;
    }
    if (modname === 'modprobe' && param.startsWith('blacklist=')) {
      for (const t of param.slice(10).split(',')) into.blacklists.push({ module: t, source });
      return;
    }
    const u = underscores(modname);
    if (u === null) {
      into.messages.push(`${libkmodError(into.kmod, 'kcmdline_parse_result', 489)}Ignoring bad option on kernel command line while parsing module name: '${modname}'\n`);
      return;
    }
    modname = u;
    into.options.push({ module: modname, options: param, source });
  };
  for (let p = 0; p <= buf.length; p++) {
    const c = p < buf.length ? buf[p] : '\0';
    let done = false;
    switch (c) {
      case '"':
        quoted = !quoted;
        if (quoted && state === 'modname' && p === modStart) {
          quoteStart = p;
          modStart = p + 1;
        } else if (state !== 'value') state = 'ignore';
        break;
      case '\0':
      case ' ':
      case '\n':
      case '\t':
      case '\v':
      case '\f':
      case '\r':
        if (quoted && state === 'value') {
          /* a space inside a quoted value */
        } else if (quoted) state = 'ignore';
        else if (state === 'value' || state === 'param') done = true;
        else {
          modStart = p + 1;
          state = 'modname';
          quoteStart = -1;
        }
        break;
      case '.':
        if (state === 'modname') {
          paramStart = p + 1;
          valueStart = -1;
          state = 'param';
        } else if (state === 'param') state = 'ignore';
        break;
      case '=':
        if (state === 'param') {
          valueStart = p + 1;
          state = 'value';
        } else if (state === 'modname') state = 'ignore';
        break;
    }
    if (done) {
      complete(p);
      modStart = p + 1;
      state = 'modname';
      quoteStart = -1;
    }
  }
}

export interface ConfigFileEntry {
  /** File name used for ordering (basename). */
  readonly name: string;
  /** Full path to read. */
  readonly path: string;
}

/**
 * kmod's ordering of configuration files: `modules.softdep` (kmod 33+: and
 * `modules.weakdep`) of the modules directory first in the list, then each config path's `.conf` (kmod 30: and `.alias`)
 * files (a path that is a file counts under its basename); one list sorted
 * by name (byte order), the first of equal names kept.
 */
export function orderConfigFiles(modulesDir: string, paths: readonly { path: string; entries: readonly string[] | null }[], kmod: KmodCompat = DEFAULT_KMOD_COMPAT): ConfigFileEntry[] {
  const list: ConfigFileEntry[] = [{ name: 'modules.softdep', path: `${modulesDir}/modules.softdep` }];
  if (kmod !== '30') list.push({ name: 'modules.weakdep', path: `${modulesDir}/modules.weakdep` });
  const insert = (name: string, path: string) => {
    let i = 0;
    while (i < list.length && list[i].name < name) i++;
    if (i < list.length && list[i].name === name) return;
    list.splice(i, 0, { name, path });
  };
  for (const p of paths) {
    if (p.entries === null) {
      insert(p.path.slice(p.path.lastIndexOf('/') + 1), p.path);
      continue;
    }
    for (const fn of p.entries) {
      if (!isConfigFileName(fn, kmod)) continue;
      insert(fn, `${p.path}/${fn}`);
    }
  }
  return list;
}

/** A directory entry libkmod reads (conf_files_filter_out): not a dot-file, at least 6 characters, `.conf` (kmod 30: or `.alias`, which kmod 33+ no longer reads). */
export function isConfigFileName(fn: string, kmod: KmodCompat = DEFAULT_KMOD_COMPAT): boolean {
  if (fn[0] === '.' || fn.length < 6) return false;
  return fn.endsWith('.conf') || (kmod === '30' && fn.endsWith('.alias'));
}

/** kmod 30's default configuration directories, then /usr/lib/modprobe.d (kmod 33+). */
export const MODPROBE_CONFIG_DIRS = ['/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d', '/lib/modprobe.d', '/usr/lib/modprobe.d'] as const;

/**
 * MODPROBE_OPTIONS split as modprobe does (prepend_options_from_env): on
 * spaces, a quote-delimited word keeps its spaces; the words go before the
 * command-line arguments.
 */
export function splitModprobeOptions(env: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let wordStartsQuoted = false;
  let started = false;
  for (const c of env) {
    if (quote === null) {
      if (c === ' ') {
        out.push(cur);
        cur = '';
        started = false;
        wordStartsQuoted = false;
      } else if (c === '"' || c === "'") {
        quote = c;
        wordStartsQuoted = !started;
        started = true;
      } else {
        cur += c;
        started = true;
      }
    } else if (c === quote) {
      quote = null;
      if (wordStartsQuoted) {
        out.push(cur);
        cur = '';
        started = false;
        wordStartsQuoted = false;
      }
    } else cur += c;
  }
  if (cur !== '' || started) out.push(cur);
  return out;
}
