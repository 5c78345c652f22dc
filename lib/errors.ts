/**
 * The library's one error type. Every failure caused by input (a file, a
 * compressed stream, a target description, a kernel answer) is raised as a
 * KmodkitError with a stable `code`; callers switch on `code`, never on the
 * message text.
 *
 * For TypeScript, `KmodkitError` is a union discriminated on `code`: after
 * `isKmodkitError(e)` (or `e instanceof KmodkitError`) and `e.code ===
 * 'EREJECTED'`, `e.detail.findings` is typed. Codes listed in
 * KmodkitErrorDetails always carry that `detail`; the others may carry a
 * free-form one (offsets, section names).
 */
import type { ErrnoName } from './errno.js';
import type { Finding } from './finding.js';

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
  | 'ETOOBIG' // an input or output over its size cap (bombs; files over kmodkit's input limits)
  | 'ENOMEM' // the process ran out of memory (an address-space limit, not the input, is at fault)
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

/** srcversion / GNU build-id of a module, as an image has them or the kernel shows them. */
export interface ModuleIdentityDetail {
  readonly srcversion?: string;
  readonly buildId?: string;
}

/** ESYSCALL straight from ModuleSyscalls (loadSyscalls()): the call and the raw errno number. */
export interface RawSyscallDetail {
  readonly call: 'finit_module' | 'init_module' | 'delete_module';
  readonly errno: number;
  /** finit_module's descriptor and flags, init_module's image size, delete_module's name and flags. */
  readonly fd?: number;
  readonly flags?: number;
  readonly size?: number;
  readonly name?: string;
}

/** ESYSCALL from loadModule/unloadModule/ModuleSet: kmod's wording and the findings that explain it. */
export interface KmodSyscallDetail {
  readonly module: string;
  readonly op: 'insert' | 'remove';
  readonly call?: 'finit_module' | 'init_module' | 'delete_module';
  /** glibc's strerror() text of `errno`. */
  readonly strerror: string;
  /** The message kmod's insmod/modprobe/rmmod prints for this failure. */
  readonly kmodMessage: string;
  readonly hint?: string;
  /** Pre-flight findings that explain the errno, most specific first. */
  readonly findings?: readonly Finding[];
  /** True when rmmod's own pre-check refused (no syscall was made). */
  readonly precheck?: true;
}

/** The `detail` each of these codes always carries. */
export interface KmodkitErrorDetails {
  /** The pre-flight check refused the module (loadModule, ModuleSet). */
  EREJECTED: {
    readonly module: string;
    /** The blocking findings (errors), first one in the message. */
    readonly findings: readonly Finding[];
    readonly allFindings: readonly Finding[];
    /** A refusal is the verdict 'fails' (an incomplete check does not refuse). */
    readonly verdict: 'fails';
  };
  ESYSCALL: RawSyscallDetail | KmodSyscallDetail;
  ECHANGED:
    | { readonly changed: string } // the file changed between check and syscall
    | { readonly module: string; readonly expected: ModuleIdentityDetail; readonly actual: ModuleIdentityDetail } // unload of a replaced module
    | undefined; // the file shrank while being read
  EFOREIGN: { readonly module: string };
  ECOMMAND: { readonly module: string; readonly command: string | undefined };
  EDEPCYCLE: { readonly messages: readonly string[] };
}

/** Codes whose `detail` has a fixed shape. */
export type DetailedCode = keyof KmodkitErrorDetails;

/** Free-form extra data of the other codes (offsets, section names, limits). */
export type FreeDetail = Readonly<Record<string, unknown>>;

/** The type of `detail` for a code. */
export type KmodkitErrorDetail<C extends KmodkitErrorCode> = C extends DetailedCode ? KmodkitErrorDetails[C] : FreeDetail | undefined;

export interface KmodkitErrorOptions<C extends KmodkitErrorCode = KmodkitErrorCode> {
  /** File the error concerns, when known. */
  file?: string;
  /** errno name (e.g. 'EEXIST'): what the kernel returned, or would return. */
  errno?: ErrnoName;
  /** Extra data: typed for the codes in KmodkitErrorDetails, free-form for the others. */
  detail?: KmodkitErrorDetail<C>;
  cause?: unknown;
}

/** Options for a code: `detail` is required where the code always carries one. */
type OptionsFor<C extends KmodkitErrorCode> = [C] extends [DetailedCode]
  ? undefined extends KmodkitErrorDetails[C]
    ? [options?: KmodkitErrorOptions<C>]
    : [options: KmodkitErrorOptions<C> & { detail: KmodkitErrorDetails[C] }]
  : [options?: KmodkitErrorOptions<C>];

class KmodkitErrorImpl<C extends KmodkitErrorCode> extends Error {
  readonly code: C;
  file?: string;
  /** errno name for syscall errors, and for errors that mirror one (ENOENT, ENOEXEC ...). */
  readonly errno?: ErrnoName;
  readonly detail!: KmodkitErrorDetail<C>;

  constructor(code: C, message: string, options: KmodkitErrorOptions<C> = {}) {
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

/** One KmodkitError per code, as a union discriminated on `code` (narrow with `e.code === '…'`). */
export type KmodkitError<C extends KmodkitErrorCode = KmodkitErrorCode> = { [K in C]: KmodkitErrorImpl<K> }[C];

export interface KmodkitErrorConstructor {
  new <C extends KmodkitErrorCode>(code: C, message: string, ...options: OptionsFor<C>): KmodkitError<C>;
  /** `instanceof KmodkitError` narrows to the whole union, so `code` then narrows `detail`. */
  readonly prototype: KmodkitError;
}

// The runtime class is KmodkitErrorImpl, named KmodkitError (what stack
// traces and util.inspect print); the constructor's type is what gives
// `instanceof` and `new` their discriminated types.
Object.defineProperty(KmodkitErrorImpl, 'name', { value: 'KmodkitError' });
export const KmodkitError = KmodkitErrorImpl as unknown as KmodkitErrorConstructor;

export function isKmodkitError(e: unknown): e is KmodkitError {
  return e instanceof KmodkitErrorImpl;
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
