/**
 * Hand-built module trees for the depmod unit tests, and the two kmod
 * releases to run beside kmodkit when this machine has them: Debian 12's
 * depmod (kmod 30) on PATH and Debian 13's (kmod 34.2) in the corpus cache
 * (never fetched from here: a unit test only uses what is there).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElf, type SectionSpec, type SymbolSpec } from '../../helpers/elf-builder.js';
import { which } from '../../helpers/tools.js';
import { corpusDir } from '../../corpus/cache.js';

export const CLI = fileURLToPath(new URL('../../../cli/index.js', import.meta.url));

export interface SynthModule {
  /** File path under the modules dir, e.g. kernel/a.ko. */
  readonly path: string;
  /** Names in __ksymtab_strings (kmod's exports when there is no __crc_ symbol). */
  readonly exports?: readonly string[];
  /** Undefined symbols, in symbol-table order. */
  readonly imports?: readonly (string | { name: string; weak?: boolean })[];
  /** .modinfo entries as raw bytes (key=value, latin1), e.g. 'alias=pci:v*'. */
  readonly modinfo?: readonly string[];
  /** Extra symbols (e.g. __crc_ ones), after the others. */
  readonly symbols?: readonly SymbolSpec[];
  /** Extra sections. */
  readonly sections?: readonly SectionSpec[];
  /** Replace the whole file with these bytes. */
  readonly bytes?: Uint8Array;
}

const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** An ELF64 LE relocatable module: .text, .modinfo (name= and the entries), __ksymtab_strings, .symtab. */
export function synthModule(m: SynthModule): Uint8Array {
  if (m.bytes) return m.bytes;
  const modname = path.basename(m.path).replace(/\..*/, '').replace(/-/g, '_');
  const info = ['license=GPL', `name=${modname}`, ...(m.modinfo ?? [])].map((e) => e + '\0').join('');
  const sections: SectionSpec[] = [
    { name: '.text', type: 1, data: new Uint8Array(16), flags: 6 },
    { name: '.modinfo', type: 1, data: latin1(info) },
  ];
  if (m.exports?.length) sections.push({ name: '__ksymtab_strings', type: 1, data: latin1(m.exports.map((e) => e + '\0').join('')) });
  sections.push(...(m.sections ?? []));
  const symbols: SymbolSpec[] = [
    ...(m.exports ?? []).map((name) => ({ name, section: '.text', type: 2 })),
    ...(m.imports ?? []).map((i) => (typeof i === 'string' ? { name: i, section: 0 } : { name: i.name, section: 0, bind: i.weak ? 2 : 1 })),
    ...(m.symbols ?? []),
  ];
  return buildElf({ class: 64, le: true, sections, symbols });
}

/** ROOT/lib/modules/REL with the modules and, when given, modules.order and friends; returns the modules dir. */
export function synthTree(root: string, rel: string, modules: readonly SynthModule[], files: Record<string, string | Uint8Array> = {}): string {
  const dir = path.join(root, 'lib/modules', rel);
  fs.mkdirSync(dir, { recursive: true });
  for (const m of modules) {
    fs.mkdirSync(path.dirname(path.join(dir, m.path)), { recursive: true });
    fs.writeFileSync(path.join(dir, m.path), synthModule(m));
  }
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  return dir;
}

export interface ToolRun { readonly code: number; readonly stdout: Buffer; readonly stderr: Buffer }

function spawn(cmd: string, args: readonly string[]): ToolRun {
  const r = spawnSync(cmd, args, { maxBuffer: 256 * 2 ** 20, timeout: 60_000 });
  return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr ?? Buffer.alloc(0) };
}

/** `depmod ARGS` of a kmod release, or null when this machine does not have it. */
export type KmodDepmod = ((args: readonly string[]) => ToolRun) | null;

export const kmod30: KmodDepmod = (() => {
  const bin = which('depmod');
  if (!bin) return null;
  const v = spawn(bin, ['--version']).stdout.toString();
  return /kmod version 30\b/.test(v) ? (args: readonly string[]) => spawn(bin, args) : null;
})();

export const kmod34: KmodDepmod = (() => {
  const root = path.join(corpusDir(), 'tools/kmod-trixie/root');
  const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
  const ld = path.join(lib, 'ld-linux-x86-64.so.2');
  const kmod = path.join(root, 'usr/bin/kmod');
  if (process.arch !== 'x64' || !fs.existsSync(ld) || !fs.existsSync(kmod)) return null;
  const cmd = [ld, '--library-path', lib, '--argv0', 'depmod', kmod];
  return /kmod version 34/.test(spawn(cmd[0], [...cmd.slice(1), '--version']).stdout.toString()) ? (args: readonly string[]) => spawn(cmd[0], [...cmd.slice(1), ...args]) : null;
})();

/** kmodkit's depmod CLI in a child process. */
export function kmodkitDepmod(args: readonly string[]): ToolRun {
  return spawn(process.execPath, [CLI, 'depmod', ...args]);
}

/** The reference for a compat mode. */
export function kmodFor(mode: '30' | '34'): KmodDepmod {
  return mode === '30' ? kmod30 : kmod34;
}

/** Every regular file of a modules dir that depmod writes or leaves (modules.*, the kmodkit cache excepted), name → bytes. */
export function outputs(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.startsWith('modules.') || f === 'modules.kmodkit.cache') continue;
    out.set(f, fs.readFileSync(path.join(dir, f)));
  }
  return out;
}

/** A copy of a whole synthetic root (cp -a). */
export function copyRoot(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
}
