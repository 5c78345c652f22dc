/**
 * kmod 34.2 (Debian 13's) as a second reference, run on this Debian 12 machine
 * through trixie's own dynamic loader and libraries:
 *
 *   LIB=<root>/usr/lib/x86_64-linux-gnu
 *   $LIB/ld-linux-x86-64.so.2 --library-path $LIB --argv0 modinfo <root>/usr/bin/kmod ARGS
 *
 * kmod is a multi-call binary: --argv0 picks modinfo/modprobe/depmod.  The
 * packages (kmod, libkmod2 and what they load, including the decompressors kmod
 * 34 dlopen()s) come from trixie through a private apt state and are cached
 * under <corpus cache>/tools/kmod-trixie/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureSuitePackages, run, which } from './cache.js';

/** `apt-cache depends kmod libkmod2 libssl3t64 libc6` in trixie, plus the libraries kmod dlopen()s. */
export const KMOD_TRIXIE_PACKAGES = ['kmod', 'libkmod2', 'libc6', 'libgcc-s1', 'libssl3t64', 'libzstd1', 'liblzma5', 'zlib1g'] as const;

export interface KmodReference {
  version: string;
  root: string;
  /** argv prefix: spawn(cmd[0], [...cmd.slice(1), ...args]) runs `<applet> ARGS` */
  command(applet: 'modinfo' | 'modprobe' | 'depmod'): string[];
}

export type KmodReferenceResult = { ok: true; ref: KmodReference } | { ok: false; reason: string };

/** Fetch (once) and check trixie's kmod; a reason instead when it cannot be had. */
export async function kmod34(log: (l: string) => void = () => {}): Promise<KmodReferenceResult> {
  if (process.arch !== 'x64') return { ok: false, reason: `kmod 34.2 reference needs an x86-64 host (this is ${process.arch})` };
  if (!which('apt-get') || !which('dpkg-deb')) return { ok: false, reason: 'kmod 34.2 reference: apt-get/dpkg-deb not available' };
  let root: string;
  try {
    root = (await ensureSuitePackages('kmod-trixie', 'trixie', 'amd64', KMOD_TRIXIE_PACKAGES, log)).root;
  } catch (e) {
    return { ok: false, reason: `kmod 34.2 reference: cannot fetch trixie's kmod (${(e as Error).message.split('\n')[0]})` };
  }
  const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
  const ld = path.join(lib, 'ld-linux-x86-64.so.2');
  const kmod = path.join(root, 'usr/bin/kmod');
  if (!fs.existsSync(ld) || !fs.existsSync(kmod)) return { ok: false, reason: `kmod 34.2 reference: ${ld} or ${kmod} missing after unpacking` };
  const command = (applet: string): string[] => [ld, '--library-path', lib, '--argv0', applet, kmod];
  const [cmd, ...pre] = command('modinfo');
  const r = await run(cmd, [...pre, '--version']);
  const m = /kmod version (\S+)/.exec(r.stdout.toString('utf8'));
  if (r.code !== 0 || !m) return { ok: false, reason: `kmod 34.2 reference: '${command('modinfo').join(' ')} --version' failed (exit ${r.code}): ${r.stderr.toString('utf8').trim()}` };
  return { ok: true, ref: { version: m[1], root, command } };
}
