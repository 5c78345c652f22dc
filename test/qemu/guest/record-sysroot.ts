/**
 * Runs INSIDE the QEMU guest (test/qemu/record-sysroot.ts): copies the files
 * lib/io/sysfs.ts reads into one JSON document, printed as a single
 * `SYSROOT-JSON {…}` line: /proc/modules, /proc/cmdline, /proc/sys/kernel's
 * osrelease, tainted and boot_id, the module policy files, and for every
 * loaded module and the named built-in ones /sys/module/NAME (attributes,
 * holders as links, readable parameters, the build-id note).
 *
 *   node dist/test/qemu/guest/record-sysroot.js [BUILTIN...]
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { SysrootEntry } from '../../helpers/sysroot.js';

const entries: SysrootEntry[] = [];

function text(path: string): void {
  try {
    entries.push({ path: path.slice(1), text: readFileSync(path, 'latin1') });
  } catch {
    /* absent or unreadable (a write-only parameter): not recorded, as sysfs.ts would not see it */
  }
}

function module(name: string): void {
  const dir = `/sys/module/${name}`;
  for (const a of ['initstate', 'refcnt', 'coresize', 'taint', 'srcversion', 'version']) text(`${dir}/${a}`);
  if (existsSync(`${dir}/holders`)) {
    entries.push({ path: `${dir}/holders`.slice(1), dir: true });
    for (const h of readdirSync(`${dir}/holders`)) entries.push({ path: `${dir}/holders/${h}`.slice(1), link: readlinkSync(`${dir}/holders/${h}`) });
  }
  if (existsSync(`${dir}/parameters`)) for (const p of readdirSync(`${dir}/parameters`).sort()) text(`${dir}/parameters/${p}`);
  const note = `${dir}/notes/.note.gnu.build-id`;
  if (existsSync(note)) entries.push({ path: note.slice(1), base64: readFileSync(note).toString('base64') });
}

for (const p of ['/proc/modules', '/proc/cmdline', '/proc/sys/kernel/osrelease', '/proc/sys/kernel/tainted', '/proc/sys/kernel/random/boot_id',
  '/sys/kernel/security/lockdown', '/sys/module/compression', '/sys/module/module/parameters/sig_enforce']) text(p);
const loaded = readFileSync('/proc/modules', 'latin1').split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
for (const name of [...loaded, ...process.argv.slice(2)]) module(name);
// every other /sys/module entry as an empty directory, so that the names under /sys/module are complete
for (const name of readdirSync('/sys/module')) {
  if (lstatSync(`/sys/module/${name}`).isDirectory() && !entries.some((e) => e.path.startsWith(`sys/module/${name}/`))) entries.push({ path: `sys/module/${name}`, dir: true });
}
console.log(`SYSROOT-JSON ${JSON.stringify({ entries })}`);
