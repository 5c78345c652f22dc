/**
 * The library's one error type. Every failure caused by input (a file, a
 * compressed stream, a target description, a kernel answer) is raised as a
 * KmodkitError with a stable `code`; callers switch on `code`, never on the
 * message text.
 */

export type KmodkitErrorCode =
  // byte reading / ELF structure
  | 'ETRUNCATED' // a read ran past the end of the data
  | 'ENOTELF' // no ELF magic (kmod: ENOEXEC "Exec format error")
  | 'EELFCLASS' // EI_CLASS / EI_DATA not understood
  | 'EELFHEADER' // header fields inconsistent (e_shentsize, e_shoff ...)
  | 'EELFSECTION' // a section header or its data is out of range
  | 'EELFSYMBOL' // symbol table / string table malformed
  | 'EELFRELOC' // relocation section malformed or unsupported type
  | 'ENOSECTION' // a section the operation needs is absent
  // module semantics
  | 'EMODINFO' // .modinfo missing or malformed
  | 'EVERSIONS' // __versions / extended modversions malformed
  | 'ESIGNATURE' // module signature trailer / PKCS#7 malformed
  | 'EFORMAT' // any other structural problem in module data
  | 'EINDEX' // a modules.*.bin index is malformed, or a key is not 7-bit ASCII
  | 'EDEPCYCLE' // depmod found a dependency cycle
  // compression
  | 'ECOMPRESS' // a compressed stream is corrupt
  | 'ETOOBIG' // output would exceed the configured cap (bombs)
  // I/O and resolution
  | 'ENOENT' // file or module not found
  | 'EIO' // read failed
  | 'ENOTREG' // not a regular file (FIFO, device, directory, socket), after following symlinks
  | 'ECHANGED' // the file changed on disk between reading (checking) it and handing it to the kernel
  | 'EINPUT' // bad argument from the caller (param string, option)
  // checks / loading
  | 'ETARGET' // target kernel description malformed
  | 'EUNSUPPORTED' // platform or feature cannot be served here
  | 'EREJECTED' // pre-flight check refused the module
  | 'EFOREIGN' // the module in the kernel is not the one this process (or its recorded previous run) loaded
  | 'ECOMMAND' // modprobe.d would run an install/remove command and the caller did not allow commands
  | 'ESYSCALL'; // a module syscall failed (see `errno`)

export interface KmodkitErrorOptions {
  /** File the error concerns, when known. */
  file?: string;
  /** errno name for syscall errors (e.g. 'EEXIST'). */
  errno?: string;
  /** Anything extra worth carrying (offsets, section names). */
  detail?: Record<string, unknown>;
  cause?: unknown;
}

export class KmodkitError extends Error {
  readonly code: KmodkitErrorCode;
  file?: string;
  readonly errno?: string;
  readonly detail?: Record<string, unknown>;

  constructor(code: KmodkitErrorCode, message: string, options: KmodkitErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'KmodkitError';
    this.code = code;
    if (options.file !== undefined) this.file = options.file;
    if (options.errno !== undefined) this.errno = options.errno;
    if (options.detail !== undefined) this.detail = options.detail;
  }

  /** "file: message" when the file is known, else the message. */
  describe(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

export function isKmodkitError(e: unknown): e is KmodkitError {
  return e instanceof KmodkitError;
}

/** Attach a file name to a KmodkitError that lacks one, and rethrow anything. */
export function withFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KmodkitError && e.file === undefined) e.file = file;
    throw e;
  }
}
