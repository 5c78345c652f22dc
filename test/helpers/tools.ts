/**
 * Small helpers for tests that drive system tools.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The executable `cmd` on PATH (or the sbin directories apt tools live in), or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}
