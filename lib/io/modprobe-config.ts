/**
 * Reads the modprobe configuration from the file system the way kmod does:
 * the configuration directories (or `-C` paths), depmod's modules.softdep (and modules.weakdep),
 * then /proc/cmdline. Every path takes the `root` prefix. Parsing is in
 * lib/modprobe/config.ts. Each file is read with its size cap, and all of
 * them together with theirs ('ETOOBIG', lib/input-limits.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS, inputTooBig } from '../input-limits.js';
import { readInputText } from './read-input.js';
import {
  MODPROBE_CONFIG_DIRS, emptyConfig, orderConfigFiles, parseKernelCmdline, parseModprobeConf, type ModprobeConfig,
} from '../modprobe/config.js';
import type { KmodCompat } from '../kmod-compat.js';
import { kernelCmdline } from './sysfs.js';

export interface ReadConfigOptions {
  /** Prefix for the configuration directories and /proc/cmdline (tests, staging trees). */
  root?: string;
  /** `-C` paths (files or directories); they replace the default directories. */
  configPaths?: readonly string[];
  /** The modules directory whose modules.softdep takes part (kmod's dirname). */
  modulesDir: string;
  /** Read <root>/proc/cmdline (default true). */
  kernelCmdline?: boolean;
  /** The kmod release whose reading is followed: '34' (default) or '30'. */
  kmod?: KmodCompat;
  /** Resolve paths under this directory inside it (`modprobe -d ROOT`: the modules directory's modules.softdep); default `root`. */
  confine?: string;
}

function listing(path: string): { path: string; entries: string[] | null } | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (!st.isDirectory()) return { path, entries: null };
  try {
    // kmod reads directories in readdir order but sorts the merged list; subdirectories are reported and skipped
    const entries = readdirSync(path, { withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name);
    return { path, entries };
  } catch {
    return null;
  }
}

export function readModprobeConfig(opts: ReadConfigOptions): ModprobeConfig {
  const root = opts.root ?? '';
  const paths = opts.configPaths ?? MODPROBE_CONFIG_DIRS.map((d) => `${root}${d}`);
  const lists = paths.map(listing).filter((l): l is { path: string; entries: string[] | null } => l !== null);
  const config = emptyConfig(opts.kmod);
  const read = { root: opts.confine ?? root };
  let total = 0;
  for (const f of orderConfigFiles(opts.modulesDir, lists, config.kmod)) {
    let text: string;
    try {
      text = readInputText(f.path, INPUT_LIMITS.modprobeConf, read);
    } catch (e) {
      if (e instanceof KmodkitError && e.code === 'ETOOBIG') throw e;
      continue;
    }
    total += text.length;
    if (total > INPUT_LIMITS.modprobeConfTotal.bytes) throw inputTooBig(INPUT_LIMITS.modprobeConfTotal, total, f.path, true);
    parseModprobeConf(text, f.path, config);
  }
  if (opts.kernelCmdline !== false) {
    const cmdline = kernelCmdline(root); // undefined without /proc: no kernel command line options
    if (cmdline !== undefined) parseKernelCmdline(cmdline, config);
  }
  return config;
}
