/**
 * `--kmod-compat=30|34` and $KMODKIT_KMOD_COMPAT: which kmod release's output
 * a kmod-compatible command reproduces where releases differ (lib/kmod-compat.ts).
 */
import { DEFAULT_KMOD_COMPAT, isKmodCompat, KMOD_COMPAT_VALUES, type KmodCompat } from '../lib/kmod-compat.js';

export const KMOD_COMPAT_ENV = 'KMODKIT_KMOD_COMPAT';

/** The option's value when given, else the environment's, else kmod 34; `error` names what was wrong. */
export function resolveKmodCompat(option: string | undefined, env: NodeJS.ProcessEnv = process.env): { compat: KmodCompat } | { error: string } {
  const value = option ?? (env[KMOD_COMPAT_ENV] || DEFAULT_KMOD_COMPAT);
  if (isKmodCompat(value)) return { compat: value };
  return { error: `--kmod-compat/${KMOD_COMPAT_ENV} must be one of ${KMOD_COMPAT_VALUES.join(', ')}, not '${value}'` };
}
