/**
 * Planting cache entries for the tests of lib/io's caches (a kernel image's
 * certificates, decoded target inputs): an entry split at its header line,
 * an entry replaced by other bytes, an entry made a symlink.
 */
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The entry `name` in `cache`: its bytes, its header line and what follows it. */
export function entryParts(cache: string, name: string): { entry: Buffer; header: string; body: Buffer } {
  const entry = readFileSync(join(cache, name));
  const nl = entry.indexOf(0x0a);
  return { entry, header: entry.subarray(0, nl).toString('latin1'), body: entry.subarray(nl + 1) };
}

/** `data` as the entry `name` (mode 0600), in place of what is there. */
export function plantEntry(cache: string, name: string, data: Uint8Array | string): void {
  rmSync(join(cache, name), { force: true });
  writeFileSync(join(cache, name), data, { mode: 0o600 });
}

/** The entry `name` made a symlink to a copy of `entry` (mode 0600) in `elsewhere`, a folder outside the cache. */
export function plantSymlinkEntry(cache: string, name: string, entry: Uint8Array, elsewhere: string): void {
  rmSync(join(cache, name), { force: true });
  writeFileSync(join(elsewhere, 'elsewhere'), entry, { mode: 0o600 });
  symlinkSync(join(elsewhere, 'elsewhere'), join(cache, name));
}
