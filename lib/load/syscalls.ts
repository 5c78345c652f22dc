/**
 * The thin syscall backend for loading and removing kernel modules:
 * finit_module(2), init_module(2) and delete_module(2), called through
 * libc's variadic `syscall(long number, ...)` via the koffi FFI.
 *
 * Nothing here is imported eagerly by the rest of the library: koffi is a
 * native addon, so it is only brought in by `loadSyscalls()` (a dynamic
 * `import('koffi')`). Higher layers take a `ModuleSyscalls` object, so tests
 * inject a fake (kmod does the same with an LD_PRELOAD mock; we inject).
 *
 * glibc has wrappers for init_module and delete_module but none for
 * finit_module, and musl is different again, so all three go through
 * `syscall()` with numbers from the kernel's own tables.
 */

import { constants as osConstants } from 'node:os';
import { KmodkitError, type RawSyscallDetail } from '../errors.js';
import type { ErrnoName } from '../errno.js';

// ---------------------------------------------------------------------------
// Flags (include/uapi/linux/module.h, asm*/fcntl.h)
// ---------------------------------------------------------------------------

/** finit_module: ignore the `__versions` symbol-version table. */
export const MODULE_INIT_IGNORE_MODVERSIONS = 1;
/** finit_module: ignore the vermagic string. */
export const MODULE_INIT_IGNORE_VERMAGIC = 2;
/** finit_module (5.17+, CONFIG_MODULE_DECOMPRESS): the fd holds a compressed module. */
export const MODULE_INIT_COMPRESSED_FILE = 4;

/** Node's `process.arch` values this backend knows syscall numbers for. */
export type SyscallArch =
  | 'x64'
  | 'ia32'
  | 'arm'
  | 'arm64'
  | 's390x'
  | 'ppc64'
  | 'riscv64'
  | 'loong64'
  | 'mips64el';

export interface ArchSyscallTable {
  init_module: number;
  delete_module: number;
  finit_module: number;
  /** delete_module "don't wait" flag (O_NONBLOCK of that arch). */
  O_NONBLOCK: number;
  /** delete_module "force" flag (O_TRUNC of that arch). */
  O_TRUNC: number;
}

/** asm-generic/fcntl.h: O_TRUNC 00001000, O_NONBLOCK 00004000. */
const GENERIC_FCNTL = { O_NONBLOCK: 0o4000, O_TRUNC: 0o1000 } as const;

/**
 * Syscall numbers, from the kernel's tables:
 * - x64:   arch/x86/entry/syscalls/syscall_64.tbl (175, 176, 313)
 * - ia32:  arch/x86/entry/syscalls/syscall_32.tbl (128, 129, 350)
 * - arm:   arch/arm/tools/syscall.tbl, EABI (128, 129, 379)
 * - s390x: arch/s390/kernel/syscalls/syscall.tbl (128, 129, 344)
 * - ppc64: arch/powerpc/kernel/syscalls/syscall.tbl (128, 129, 353; also ppc64le,
 *          which Node reports as 'ppc64')
 * - arm64, riscv64, loong64: include/uapi/asm-generic/unistd.h (105, 106, 273)
 * - mips64el: arch/mips/kernel/syscalls/syscall_n64.tbl (168, 169, 307) + the
 *          n64 base __NR_Linux = 5000
 * fcntl flags: asm-generic/fcntl.h everywhere except MIPS
 * (arch/mips/include/uapi/asm/fcntl.h: O_NONBLOCK 0x80, O_TRUNC 0x200).
 */
export const SYSCALL_TABLES: Readonly<Record<SyscallArch, Readonly<ArchSyscallTable>>> = {
  x64: { init_module: 175, delete_module: 176, finit_module: 313, ...GENERIC_FCNTL },
  ia32: { init_module: 128, delete_module: 129, finit_module: 350, ...GENERIC_FCNTL },
  arm: { init_module: 128, delete_module: 129, finit_module: 379, ...GENERIC_FCNTL },
  arm64: { init_module: 105, delete_module: 106, finit_module: 273, ...GENERIC_FCNTL },
  riscv64: { init_module: 105, delete_module: 106, finit_module: 273, ...GENERIC_FCNTL },
  loong64: { init_module: 105, delete_module: 106, finit_module: 273, ...GENERIC_FCNTL },
  s390x: { init_module: 128, delete_module: 129, finit_module: 344, ...GENERIC_FCNTL },
  ppc64: { init_module: 128, delete_module: 129, finit_module: 353, ...GENERIC_FCNTL },
  mips64el: {
    init_module: 5168,
    delete_module: 5169,
    finit_module: 5307,
    O_NONBLOCK: 0x80,
    O_TRUNC: 0x200,
  },
};

/** The syscall table for an arch, or undefined when we have none. */
export function syscallTable(arch: string = process.arch): Readonly<ArchSyscallTable> | undefined {
  return Object.prototype.hasOwnProperty.call(SYSCALL_TABLES, arch)
    ? SYSCALL_TABLES[arch as SyscallArch]
    : undefined;
}

const hostTable = syscallTable();

/**
 * O_NONBLOCK of the running arch (0x800; 0x80 on MIPS): delete_module's
 * "fail with EWOULDBLOCK/EBUSY instead of waiting" flag. kmod always sets it.
 */
export const O_NONBLOCK: number = hostTable?.O_NONBLOCK ?? GENERIC_FCNTL.O_NONBLOCK;
/** O_TRUNC of the running arch (0x200): delete_module's force flag (rmmod -f). */
export const O_TRUNC: number = hostTable?.O_TRUNC ?? GENERIC_FCNTL.O_TRUNC;

// ---------------------------------------------------------------------------
// errno
// ---------------------------------------------------------------------------

let errnoNames: Map<number, string> | undefined;

/**
 * errno number → name ("EEXIST"), from node's os.constants.errno (which is
 * the running platform's table). Aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK =
 * EDEADLK, ENOTSUP = EOPNOTSUPP) resolve to the first name node lists, except
 * that the conventional names are preferred. Unknown numbers give "E<n>".
 */
export function errnoName(errno: number): ErrnoName {
  if (!errnoNames) {
    errnoNames = new Map();
    const preferred = new Set(['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']);
    for (const [name, value] of Object.entries(osConstants.errno)) {
      const prev = errnoNames.get(value);
      if (prev === undefined || (preferred.has(name) && !preferred.has(prev))) {
        errnoNames.set(value, name);
      }
    }
  }
  return (errnoNames.get(errno) ?? `E${errno}`) as ErrnoName;
}

// ---------------------------------------------------------------------------
// The injectable interface
// ---------------------------------------------------------------------------

/**
 * The three module syscalls. Each returns normally on success and throws
 * KmodkitError('ESYSCALL', …, { errno: 'EEXIST' }) on failure, with the
 * numeric errno in `detail.errno`.
 *
 * Higher layers take this interface; tests pass a fake.
 */
export interface ModuleSyscalls {
  /** finit_module(fd, params, flags). `flags`: MODULE_INIT_* bits. */
  finitModule(fd: number, params: string, flags: number): void;
  /** init_module(image, image.length, params). */
  initModule(image: Uint8Array, params: string): void;
  /** delete_module(name, flags). `flags`: O_NONBLOCK | O_TRUNC (force). */
  deleteModule(name: string, flags: number): void;
}

/** Build the ESYSCALL error for a failed module syscall. */
export function syscallError(
  call: 'finit_module' | 'init_module' | 'delete_module',
  errno: number,
  detail: Omit<RawSyscallDetail, 'call' | 'errno'> = {},
): KmodkitError {
  const name = errnoName(errno);
  return new KmodkitError('ESYSCALL', `${call} failed: ${name} (errno ${errno})`, {
    errno: name,
    detail: { call, errno, ...detail },
  });
}

function checkString(what: string, s: unknown): string {
  if (typeof s !== 'string') throw new KmodkitError('EINPUT', `${what} must be a string`);
  if (s.includes('\0')) throw new KmodkitError('EINPUT', `${what} must not contain a NUL byte`);
  return s;
}

function checkInt(what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new KmodkitError('EINPUT', `${what} must be an integer`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// The koffi-backed implementation
// ---------------------------------------------------------------------------

/** The subset of koffi's API this module uses. */
interface KoffiLike {
  load(path: string | null): { func(decl: string): (...args: unknown[]) => unknown };
  errno(): number;
  errno(value: number): number;
}

let cached: Promise<ModuleSyscalls> | undefined;

/**
 * Load the real syscall backend (dynamic `import('koffi')`). Cached: every
 * call returns the same object. Throws KmodkitError('EUNSUPPORTED') when the
 * platform is not Linux, the CPU arch has no syscall table here, or koffi
 * (or its prebuilt binary for this platform) cannot be loaded.
 */
export function loadSyscalls(): Promise<ModuleSyscalls> {
  if (!cached) {
    cached = createKoffiSyscalls();
    // A failure is not cached, so a caller can retry (e.g. after installing koffi).
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

async function createKoffiSyscalls(): Promise<ModuleSyscalls> {
  if (process.platform !== 'linux') {
    throw new KmodkitError(
      'EUNSUPPORTED',
      `loading kernel modules needs Linux; this platform is '${process.platform}'`,
    );
  }
  const table = syscallTable();
  if (!table) {
    throw new KmodkitError(
      'EUNSUPPORTED',
      `no module syscall numbers known for CPU architecture '${process.arch}' ` +
        `(known: ${Object.keys(SYSCALL_TABLES).join(', ')})`,
    );
  }

  let koffi: KoffiLike;
  try {
    const mod = (await import('koffi')) as unknown as { default?: KoffiLike } & KoffiLike;
    koffi = mod.default ?? mod;
  } catch (e) {
    throw new KmodkitError(
      'EUNSUPPORTED',
      `the 'koffi' FFI package could not be loaded for ${process.platform}-${process.arch} ` +
        `(not installed, or no prebuilt binary for this platform): ${(e as Error)?.message ?? e}`,
      { cause: e },
    );
  }

  let syscall: (...args: unknown[]) => unknown;
  try {
    // dlopen(NULL): the process's global symbols, i.e. whichever libc node
    // links (glibc or musl) — no library file name to guess.
    const libc = koffi.load(null);
    syscall = libc.func('long syscall(long number, ...)');
  } catch (e) {
    throw new KmodkitError(
      'EUNSUPPORTED',
      `libc's syscall() could not be bound through koffi: ${(e as Error)?.message ?? e}`,
      { cause: e },
    );
  }

  /** Run one syscall; on -1 read errno immediately and throw. */
  const invoke = (
    call: 'finit_module' | 'init_module' | 'delete_module',
    detail: Omit<RawSyscallDetail, 'call' | 'errno'>,
    args: unknown[],
  ): void => {
    koffi.errno(0);
    const ret = Number(syscall(...args));
    if (ret === -1) {
      const errno = koffi.errno();
      throw syscallError(call, errno, detail);
    }
  };

  return {
    finitModule(fd, params, flags) {
      checkInt('fd', fd);
      checkString('params', params);
      checkInt('flags', flags);
      invoke('finit_module', { fd, flags }, [
        table.finit_module,
        'long', fd,
        'const char *', params,
        'long', flags,
      ]);
    },
    initModule(image, params) {
      if (!(image instanceof Uint8Array)) {
        throw new KmodkitError('EINPUT', 'image must be a Uint8Array');
      }
      checkString('params', params);
      invoke('init_module', { size: image.length }, [
        table.init_module,
        'const void *', image,
        'unsigned long', image.length,
        'const char *', params,
      ]);
    },
    deleteModule(name, flags) {
      checkString('name', name);
      checkInt('flags', flags);
      invoke('delete_module', { name, flags }, [
        table.delete_module,
        'const char *', name,
        'long', flags,
      ]);
    },
  };
}
