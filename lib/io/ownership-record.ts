/**
 * ModuleSet's ownership record: a small JSON file the application names
 * (e.g. /run/mydaemon/modules.json) listing the modules its ModuleSet
 * loaded, so a restarted daemon adopts exactly those. Written before each
 * load (the entry is "pending" until the kernel's identity of the new
 * module is recorded) and after each unload; each write replaces the file
 * atomically (temporary file, fsync, rename).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { ModuleIdentity } from './sysfs.js';

export interface OwnershipEntry {
  readonly name: string;
  readonly path: string;
  /** kernelModuleIdentity() right after the load; null while the load is in flight. */
  readonly identity: ModuleIdentity | null;
}

export interface OwnershipRecord {
  readonly version: 1;
  /** The boot the record belongs to (a record from another boot is stale). */
  readonly bootId: string | null;
  readonly modules: readonly OwnershipEntry[];
}

/** The record, or null when absent or unreadable (a damaged record adopts nothing). */
export function readOwnershipRecord(path: string): OwnershipRecord | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const r = JSON.parse(text) as OwnershipRecord;
    if (r.version !== 1 || !Array.isArray(r.modules)) return null;
    const modules = r.modules.filter((m) => typeof m?.name === 'string' && typeof m.path === 'string' && (m.identity === null || isIdentity(m.identity)));
    return { version: 1, bootId: typeof r.bootId === 'string' ? r.bootId : null, modules };
  } catch {
    return null;
  }
}

function isIdentity(v: unknown): v is ModuleIdentity {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const str = (k: string) => o[k] === undefined || typeof o[k] === 'string';
  return str('srcversion') && str('buildId') && str('address') && (o.size === undefined || typeof o.size === 'number');
}

export function writeOwnershipRecord(path: string, record: OwnershipRecord): void {
  if (record.modules.length === 0) {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
