/**
 * `--kmod-compat=30|34` and $KMODKIT_KMOD_COMPAT: which kmod release's output
 * a kmod-compatible command reproduces where releases differ (lib/kmod-compat.ts).
 */
import { DEFAULT_KMOD_COMPAT, isKmodCompat, KMOD_COMPAT_VALUES, type KmodCompat } from '../lib/kmod-compat.js';
import type { ScannedOpt } from './getopt.js';
import { kmodVersionText } from './version.js';

export const KMOD_COMPAT_ENV = 'KMODKIT_KMOD_COMPAT';

/** The option's value when given, else the environment's, else kmod 34; `error` names what was wrong. */
export function resolveKmodCompat(option: string | undefined, env: NodeJS.ProcessEnv = process.env): { compat: KmodCompat } | { error: string } {
  const value = option ?? (env[KMOD_COMPAT_ENV] || DEFAULT_KMOD_COMPAT);
  if (isKmodCompat(value)) return { compat: value };
  return { error: `--kmod-compat/${KMOD_COMPAT_ENV} must be one of ${KMOD_COMPAT_VALUES.join(', ')}, not '${value}'` };
}

/**
 * What -V prints: kmod's two lines for the release the last --kmod-compat
 * among `opts` (else $KMODKIT_KMOD_COMPAT, else 34.2) selects; `error` when
 * that choice is not a release kmodkit follows.
 */
export function kmodVersionOutput(opts: readonly ScannedOpt[], env: NodeJS.ProcessEnv = process.env): { text: string } | { error: string } {
  const given = opts.filter((o) => o.name === 'kmod-compat').pop()?.value;
  const resolved = resolveKmodCompat(given, env);
  return 'error' in resolved ? resolved : { text: kmodVersionText(resolved.compat) };
}
