/**
 * What kmodkit's zstd encoder promises, as test helpers: the frame
 * parameters Kbuild's `zstd FILE` writes (checked on the frame itself, on
 * every runtime), and byte identity with a zstd tool only when that tool's
 * library version is the encoder's (lib/io/native/zstd.ts reports its own).
 */
import { spawnSync } from 'node:child_process';
import { zstdFrames } from '../../lib/compress/zstd-frames.js';

/** The library version a zstd tool reports (`zstd --version`: "… v1.5.4, …"), or null. */
export function zstdToolVersion(command: readonly string[] = ['zstd']): string | null {
  const [cmd, ...pre] = command;
  const r = spawnSync(cmd!, [...pre, '--version'], { encoding: 'utf8' });
  return r.status === 0 ? (/ v(\d+\.\d+\.\d+)/.exec(r.stdout)?.[1] ?? null) : null;
}

/** `zstd -q -c FILE` with `command` (the size is known, as for Kbuild's `zstd --rm -f -q FILE`). */
export function zstdToolCompress(file: string, command: readonly string[] = ['zstd']): Buffer {
  const [cmd, ...pre] = command;
  const r = spawnSync(cmd!, [...pre, '-q', '-c', file], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${command.join(' ')} -q -c ${file}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/**
 * How a frame differs from Kbuild's parameters for a module of `size` bytes
 * (empty: none): one frame, no dictionary, the content size and checksum in
 * the header, and level 3's window of at most 2 MiB (a module that fits is
 * one segment: its window is its size).
 */
export function kbuildFrameProblems(frame: Uint8Array, size: number): string[] {
  const frames = zstdFrames(frame);
  const f = frames[0];
  if (frames.length !== 1 || !f || f.skippable) return [`${frames.length} frames`];
  const out: string[] = [];
  if (f.contentSize !== size) out.push(`content size ${f.contentSize ?? 'absent'} ≠ ${size}`);
  if (!f.checksum) out.push('no XXH64 checksum');
  if (f.dictionaryId !== 0) out.push(`dictionary ${f.dictionaryId}`);
  const window = f.windowSize === 0 ? size : f.windowSize;
  if (window > 2 ** 21) out.push(`window ${window} bytes${f.windowSize === 0 ? ' (one segment)' : ''}, over level 3's 2 MiB`);
  return out;
}
