/**
 * A recorded /proc + /sys tree (test/fixtures/sysroot/NAME.json) written out
 * as a directory, to point lib/io/sysfs.ts's `root` parameter at. The JSON
 * keeps what git cannot: empty directories (a module without holders) and
 * symbolic links (holders/NAME → ../../NAME).
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sysroot');

/** One file, directory or link of a recorded tree (test/qemu/guest/record-sysroot.ts writes them). */
export interface SysrootEntry {
  path: string;
  text?: string;
  base64?: string;
  dir?: true;
  link?: string;
}

/** A fresh directory holding the tree `name` (test/fixtures/sysroot/NAME.json); returns its path. */
export function sysroot(name: string): string {
  const { entries } = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { entries: SysrootEntry[] };
  const root = mkdtempSync(join(tmpdir(), `kmodkit-sysroot-${name}-`));
  for (const e of entries) {
    const p = join(root, e.path);
    if (e.dir) {
      mkdirSync(p, { recursive: true });
      continue;
    }
    mkdirSync(dirname(p), { recursive: true });
    if (e.link !== undefined) symlinkSync(e.link, p);
    else writeFileSync(p, e.base64 !== undefined ? Buffer.from(e.base64, 'base64') : e.text ?? '');
  }
  return root;
}
