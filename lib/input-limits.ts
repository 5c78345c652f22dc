/**
 * The size caps on everything kmodkit reads besides module files (those are
 * capped by lib/compress/limits.ts and lib/io/open.ts). Pure: the readers in
 * lib/io apply them before reading a byte (by the file's size) and to the
 * decompressed size of a compressed input; the pure parsers apply them to
 * the text they are given, so the web page and library callers get the
 * same bound.
 *
 * Each cap is far above the largest real file (measured on Debian 12/13/sid
 * kernels of every architecture, the corpus of test/corpus; see
 * docs/reliability.md) and low enough that the input at the cap is parsed in
 * well under 2 s of CPU and 512 MiB. An input over its cap is refused with
 * KmodkitError 'ETOOBIG' naming the file, what it is and the cap.
 */
import { KmodkitError } from './errors.js';

export interface InputLimit {
  /** What the input is, for the message ("a kernel .config"). */
  readonly what: string;
  /** The cap, in bytes (decompressed bytes for a compressed input). */
  readonly bytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const INPUT_LIMITS = {
  /** Largest real: 336 KB (arm64 6.12), 24 times under the cap. Parsed at the cap: ~0.6 s, ~150 MiB. */
  kconfig: { what: 'a kernel .config', bytes: 8 * MiB },
  /** Largest real: 2.1 MB (amd64 7.2), 8 times under the cap. Parsed at the cap: ~0.7 s, ~150 MiB. */
  symvers: { what: 'a Module.symvers', bytes: 16 * MiB },
  /** depmod's facts cache (modules.kmodkit.cache): a 6,000-module tree needs ~10 MiB; a larger one is not read (a full run). */
  depmodCache: { what: "depmod's facts cache", bytes: 256 * MiB },
  /** depmod -F: a full System.map is a few MB (Debian ships an 83-byte stub). */
  systemMap: { what: 'a System.map', bytes: 32 * MiB },
  /** Real ones are a few KiB; libkmod reads them whole too. */
  modprobeConf: { what: 'a modprobe.d file', bytes: 1 * MiB },
  /** All modprobe.d files (and modules.softdep/weakdep) of one configuration together. */
  modprobeConfTotal: { what: 'the modprobe configuration (all files together)', bytes: 4 * MiB },
  /** modules.dep/.alias/.symbols/.builtin/.builtin.modinfo/.order: largest real ~1.5 MB (modules.alias). */
  modulesText: { what: 'a modules.* index', bytes: 16 * MiB },
  /** modules.*.bin: read whole, looked up in place; largest real ~1.5 MB. */
  modulesBin: { what: 'a modules.*.bin index', bytes: 16 * MiB },
  /** A PEM or DER private key or certificate (real ones: a few KiB). */
  keyOrCertificate: { what: 'a key or certificate file', bytes: 1 * MiB },
  /** /proc/cmdline and small /proc or /sys values (the kernel's own are at most a page or COMMAND_LINE_SIZE). */
  systemValue: { what: 'a /proc or /sys value', bytes: 1 * MiB },
} as const satisfies Record<string, InputLimit>;

export type InputKind = keyof typeof INPUT_LIMITS;

/** "16 MiB", "1 MiB", "512 KiB", "300 bytes". */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}

/**
 * KmodkitError 'ETOOBIG' for an input of `size` bytes (or more: `atLeast`)
 * over `limit`; `file` names it. The message quotes no byte of the input.
 */
export function inputTooBig(limit: InputLimit, size: number, file?: string, atLeast = false): KmodkitError {
  const how = atLeast ? `more than ${formatBytes(limit.bytes)}` : `${size} bytes`;
  return new KmodkitError('ETOOBIG', `${limit.what} of ${how} is over kmodkit's limit of ${formatBytes(limit.bytes)}`, {
    ...(file !== undefined ? { file } : {}),
    errno: 'EFBIG',
    detail: { size, limit: limit.bytes, what: limit.what },
  });
}

/** Throw 'ETOOBIG' when a text (or byte) input given to a pure parser is over its cap. */
export function checkInputSize(limit: InputLimit, length: number, file?: string): void {
  if (length > limit.bytes) throw inputTooBig(limit, length, file);
}
