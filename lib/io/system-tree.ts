/**
 * A running-system tree for the fake kernel (lib/load/fake-kernel.ts): the
 * files lib/io/sysfs.ts reads — /proc/modules, /proc/sys/kernel/osrelease
 * and random/boot_id, /sys/module/NAME/{initstate,refcnt,coresize,taint,
 * holders/,parameters/,srcversion,notes/.note.gnu.build-id},
 * /sys/module/compression, the sig_enforce parameter — written under a
 * temporary directory, which callers pass as `root`. The writer of that
 * tree, nothing else: what the fake kernel holds is decided in lib/load.
 */
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync, fstatSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Compression } from '../compress/detect.js';
import type { ProcModule } from './sysfs.js';

/** What the tree shows about the kernel itself. */
export interface SystemFacts {
  readonly release: string;
  readonly bootId: string;
  /** /sys/module/compression (the format the kernel decompresses); absent when undefined. */
  readonly compression?: Compression;
  /** /sys/module/module/parameters/sig_enforce ('Y' / 'N'); absent when undefined (no CONFIG_MODULE_SIG). */
  readonly sigEnforce?: boolean;
  /** <root>/lib/modules/<release>/modules.builtin lines (module names). */
  readonly builtin?: readonly string[];
}

/** The files of /sys/module/NAME. */
export interface SysModuleFiles {
  readonly name: string;
  readonly initstate: 'live' | 'coming' | 'going';
  /** undefined: no refcnt file (a kernel without CONFIG_MODULE_UNLOAD). */
  readonly refcnt: number | undefined;
  readonly coresize: number;
  readonly taint: string;
  readonly holders: readonly string[];
  readonly parameters: Readonly<Record<string, string>>;
  readonly srcversion?: string;
  /** The raw .note.gnu.build-id note, as the kernel exposes it under notes/. */
  readonly buildIdNote?: Uint8Array;
}

/** Create the tree in a new temporary directory; returns its path (the `root`). */
export function createSystemTree(facts: SystemFacts): string {
  const root = mkdtempSync(join(tmpdir(), 'kmodkit-fake-kernel-'));
  mkdirSync(join(root, 'proc/sys/kernel/random'), { recursive: true });
  mkdirSync(join(root, 'sys/module'), { recursive: true });
  writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${facts.release}\n`);
  writeFileSync(join(root, 'proc/sys/kernel/random/boot_id'), `${facts.bootId}\n`);
  writeFileSync(join(root, 'proc/modules'), '');
  writeFileSync(join(root, 'proc/cmdline'), 'quiet\n');
  if (facts.compression && facts.compression !== 'none') writeFileSync(join(root, 'sys/module/compression'), `${facts.compression}\n`);
  if (facts.sigEnforce !== undefined) {
    mkdirSync(join(root, 'sys/module/module/parameters'), { recursive: true });
    writeFileSync(join(root, 'sys/module/module/parameters/sig_enforce'), facts.sigEnforce ? 'Y\n' : 'N\n');
  }
  const md = join(root, 'lib/modules', facts.release);
  mkdirSync(md, { recursive: true });
  writeFileSync(join(md, 'modules.builtin'), (facts.builtin ?? []).map((n) => `kernel/${n}.ko\n`).join(''));
  return root;
}

/** /proc/modules text for these lines (the kernel's m_show format). */
export function formatProcModules(lines: readonly ProcModule[]): string {
  return lines
    .map((m) => {
      const deps = m.usedBy.length ? `${m.usedBy.join(',')},` : '-';
      const taint = m.taint ? ` (${m.taint})` : '';
      return `${m.name} ${m.size} ${m.refcount ?? '-'} ${deps} ${m.state} ${m.address ?? '0x0000000000000000'}${taint}\n`;
    })
    .join('');
}

export function writeProcModules(root: string, lines: readonly ProcModule[]): void {
  writeFileSync(join(root, 'proc/modules'), formatProcModules(lines));
}

/** Replace /sys/module/NAME with these files. */
export function writeSysModule(root: string, m: SysModuleFiles): void {
  const d = join(root, 'sys/module', m.name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(join(d, 'holders'), { recursive: true });
  mkdirSync(join(d, 'parameters'));
  writeFileSync(join(d, 'initstate'), `${m.initstate}\n`);
  if (m.refcnt !== undefined) writeFileSync(join(d, 'refcnt'), `${m.refcnt}\n`);
  writeFileSync(join(d, 'coresize'), `${m.coresize}\n`);
  writeFileSync(join(d, 'taint'), `${m.taint}\n`);
  for (const h of m.holders) writeFileSync(join(d, 'holders', h), '');
  for (const [k, v] of Object.entries(m.parameters)) writeFileSync(join(d, 'parameters', k), `${v}\n`);
  if (m.srcversion) writeFileSync(join(d, 'srcversion'), `${m.srcversion}\n`);
  if (m.buildIdNote) {
    mkdirSync(join(d, 'notes'));
    writeFileSync(join(d, 'notes/.note.gnu.build-id'), m.buildIdNote);
  }
}

export function removeSysModule(root: string, name: string): void {
  rmSync(join(root, 'sys/module', name), { recursive: true, force: true });
}

export function removeSystemTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** What a descriptor refers to (its /proc/self/fd link) and every byte of it, as finit_module reads it. */
export function readDescriptor(fd: number): { path: string; bytes: Uint8Array } {
  let path: string;
  try {
    path = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    path = '';
  }
  const bytes = new Uint8Array(fstatSync(fd).size);
  for (let got = 0; got < bytes.length; ) {
    const n = readSync(fd, bytes, got, bytes.length - got, got);
    if (n === 0) return { path, bytes: bytes.subarray(0, got) };
    got += n;
  }
  return { path, bytes };
}
