/**
 * Test helpers for lib/compress: inputs are made at test time with the
 * system tools (xz-utils, zstd, gzip), which CI installs. A missing tool
 * fails the test with a message saying which package to install.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmodkitError } from '../../../lib/errors.js';

const PACKAGE: Record<string, string> = { xz: 'xz-utils', zstd: 'zstd', gzip: 'gzip', sh: 'dash' };

/** Run `tool args` with `input` on stdin; return stdout. Throws with a clear message if the tool is missing or fails. */
export function run(tool: string, args: string[], input?: Uint8Array): Uint8Array {
  const r = spawnSync(tool, args, { input, maxBuffer: 1 << 30 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(`required tool '${tool}' is not installed: apt-get install -y ${PACKAGE[tool] ?? tool}`);
    }
    throw r.error;
  }
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${r.status}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
}

/** A shell pipeline (for bombs: the zeros never enter this process). */
export function sh(script: string): Uint8Array {
  for (const t of ['xz', 'zstd', 'gzip', 'head']) {
    if (script.includes(t) && spawnSync(t, ['--version']).error) {
      throw new Error(`required tool '${t}' is not installed: apt-get install -y ${PACKAGE[t] ?? t}`);
    }
  }
  return run('sh', ['-c', `set -e; ${script}`]);
}

/**
 * Deterministic, module-like sample: ELF-ish header, text, tables and
 * pseudo-random bytes; compresses roughly like a .ko (3:1).
 */
export function sample(size = 200_000, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  const words = ['module_init', 'license=GPL', 'vermagic=6.1.0 SMP', '__ksymtab_', 'depends=', 'alias=pci:v*', '.text', '.rodata'];
  let i = 0;
  const elf = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1];
  out.set(elf.slice(0, Math.min(size, elf.length)), 0);
  i = Math.min(64, size);
  while (i < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const kind = x % 4;
    if (kind === 0) {
      const w = new TextEncoder().encode(words[(x >>> 8) % words.length] + '\0');
      out.set(w.subarray(0, Math.min(w.length, size - i)), i);
      i += w.length;
    } else if (kind === 1) {
      const n = Math.min(16, size - i);
      for (let k = 0; k < n; k++) out[i + k] = (x >>> (k % 24)) & 0xff;
      i += n;
    } else {
      const n = Math.min((x >>> 4) % 24, size - i);
      i += n; // zeros, like padding and relocations
    }
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Assert helper: the error is a KmodkitError with `code`; returns it. */
export function codeOf(e: unknown): string {
  if (!(e instanceof KmodkitError)) throw new Error(`expected a KmodkitError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
  return e.code;
}

/**
 * Run `tool args FILE` on a temporary file holding `data` (tools record the
 * input size, e.g. zstd's frame content size, only for files), return stdout.
 */
export function runOnFile(tool: string, args: string[], data: Uint8Array): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-compress-'));
  try {
    const f = join(dir, 'module.ko');
    writeFileSync(f, data);
    return run(tool, [...args, f]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
