/**
 * A recorded /proc + /sys tree (test/fixtures/sysroot/NAME.json) written out
 * as a directory, to point lib/io/sysfs.ts's `root` parameter at. The JSON
 * keeps what git cannot: empty directories (a module without holders) and
 * symbolic links (holders/NAME → ../../NAME).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

/**
 * The recorded 6.1 guest tree (`debian-12-qemu`, which has kmodkit_params,
 * kmodkit_consumer and kmodkit_exporter loaded) with module files from
 * `samples` beside it as modules.dep names them: kmodkit_params the file that
 * was loaded, kmodkit_consumer replaced (hello.ko in its place) and
 * kmodkit_exporter gone. Returns the root and its modules directory.
 */
export function driftedSysroot(samples: string): { root: string; modulesDir: string } {
  const root = sysroot('debian-12-qemu');
  const modulesDir = join(root, 'lib/modules/6.1.0-56-amd64');
  mkdirSync(join(modulesDir, 'extra'), { recursive: true });
  copyFileSync(join(samples, 'kmodkit_params.ko'), join(modulesDir, 'extra/kmodkit_params.ko'));
  copyFileSync(join(samples, 'hello.ko'), join(modulesDir, 'extra/kmodkit_consumer.ko'));
  writeFileSync(join(modulesDir, 'modules.dep'), 'extra/kmodkit_params.ko:\nextra/kmodkit_consumer.ko:\nextra/kmodkit_exporter.ko:\n');
  return { root, modulesDir };
}
