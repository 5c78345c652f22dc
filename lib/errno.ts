/**
 * Linux errno names, their generic numbers (x86, arm, arm64, s390, ppc,
 * riscv, loongarch; mips/sparc/alpha/parisc differ, so numbers from a live
 * syscall are mapped with the host's own table) and glibc's strerror() texts,
 * which kmod prints and kmodkit reproduces.
 */

/**
 * An errno name as kmodkit reports it (KmodkitError.errno, Finding.errno):
 * one of Linux's names (include/uapi/asm-generic/errno-base.h and errno.h,
 * plus glibc's ENOTSUP alias), or `E<number>` for a number the host's table
 * does not name.
 */
export type ErrnoName =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EINTR' | 'EIO' | 'ENXIO' | 'E2BIG' | 'ENOEXEC' | 'EBADF'
  | 'ECHILD' | 'EAGAIN' | 'ENOMEM' | 'EACCES' | 'EFAULT' | 'ENOTBLK' | 'EBUSY' | 'EEXIST' | 'EXDEV'
  | 'ENODEV' | 'ENOTDIR' | 'EISDIR' | 'EINVAL' | 'ENFILE' | 'EMFILE' | 'ENOTTY' | 'ETXTBSY'
  | 'EFBIG' | 'ENOSPC' | 'ESPIPE' | 'EROFS' | 'EMLINK' | 'EPIPE' | 'EDOM' | 'ERANGE' | 'EDEADLK'
  | 'ENAMETOOLONG' | 'ENOLCK' | 'ENOSYS' | 'ENOTEMPTY' | 'ELOOP' | 'EWOULDBLOCK' | 'ENOMSG'
  | 'EIDRM' | 'ECHRNG' | 'EL2NSYNC' | 'EL3HLT' | 'EL3RST' | 'ELNRNG' | 'EUNATCH' | 'ENOCSI'
  | 'EL2HLT' | 'EBADE' | 'EBADR' | 'EXFULL' | 'ENOANO' | 'EBADRQC' | 'EBADSLT' | 'EDEADLOCK'
  | 'EBFONT' | 'ENOSTR' | 'ENODATA' | 'ETIME' | 'ENOSR' | 'ENONET' | 'ENOPKG' | 'EREMOTE'
  | 'ENOLINK' | 'EADV' | 'ESRMNT' | 'ECOMM' | 'EPROTO' | 'EMULTIHOP' | 'EDOTDOT' | 'EBADMSG'
  | 'EOVERFLOW' | 'ENOTUNIQ' | 'EBADFD' | 'EREMCHG' | 'ELIBACC' | 'ELIBBAD' | 'ELIBSCN' | 'ELIBMAX'
  | 'ELIBEXEC' | 'EILSEQ' | 'ERESTART' | 'ESTRPIPE' | 'EUSERS' | 'ENOTSOCK' | 'EDESTADDRREQ'
  | 'EMSGSIZE' | 'EPROTOTYPE' | 'ENOPROTOOPT' | 'EPROTONOSUPPORT' | 'ESOCKTNOSUPPORT'
  | 'EOPNOTSUPP' | 'ENOTSUP' | 'EPFNOSUPPORT' | 'EAFNOSUPPORT' | 'EADDRINUSE' | 'EADDRNOTAVAIL'
  | 'ENETDOWN' | 'ENETUNREACH' | 'ENETRESET' | 'ECONNABORTED' | 'ECONNRESET' | 'ENOBUFS'
  | 'EISCONN' | 'ENOTCONN' | 'ESHUTDOWN' | 'ETOOMANYREFS' | 'ETIMEDOUT' | 'ECONNREFUSED'
  | 'EHOSTDOWN' | 'EHOSTUNREACH' | 'EALREADY' | 'EINPROGRESS' | 'ESTALE' | 'EUCLEAN' | 'ENOTNAM'
  | 'ENAVAIL' | 'EISNAM' | 'EREMOTEIO' | 'EDQUOT' | 'ENOMEDIUM' | 'EMEDIUMTYPE' | 'ECANCELED'
  | 'ENOKEY' | 'EKEYEXPIRED' | 'EKEYREVOKED' | 'EKEYREJECTED' | 'EOWNERDEAD' | 'ENOTRECOVERABLE'
  | 'ERFKILL' | 'EHWPOISON'
  | `E${number}`;

export const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  ESRCH: [3, "No such process"],
  EINTR: [4, "Interrupted system call"],
  EIO: [5, "Input/output error"],
  ENXIO: [6, "No such device or address"],
  E2BIG: [7, "Argument list too long"],
  ENOEXEC: [8, "Exec format error"],
  EBADF: [9, "Bad file descriptor"],
  ECHILD: [10, "No child processes"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EFAULT: [14, "Bad address"],
  EBUSY: [16, "Device or resource busy"],
  EEXIST: [17, "File exists"],
  EXDEV: [18, "Invalid cross-device link"],
  ENODEV: [19, "No such device"],
  ENOTDIR: [20, "Not a directory"],
  EISDIR: [21, "Is a directory"],
  EINVAL: [22, "Invalid argument"],
  ENFILE: [23, "Too many open files in system"],
  EMFILE: [24, "Too many open files"],
  ETXTBSY: [26, "Text file busy"],
  EFBIG: [27, "File too large"],
  ENOSPC: [28, "No space left on device"],
  ESPIPE: [29, "Illegal seek"],
  EROFS: [30, "Read-only file system"],
  ERANGE: [34, "Numerical result out of range"],
  ENAMETOOLONG: [36, "File name too long"],
  ENOSYS: [38, "Function not implemented"],
  ENOTEMPTY: [39, "Directory not empty"],
  ELOOP: [40, "Too many levels of symbolic links"],
  ENODATA: [61, "No data available"],
  ENOPKG: [65, "Package not installed"],
  EBADMSG: [74, "Bad message"],
  EOVERFLOW: [75, "Value too large for defined data type"],
  EOPNOTSUPP: [95, "Operation not supported"],
  ETIMEDOUT: [110, "Connection timed out"],
  ENOKEY: [126, "Required key not available"],
  EKEYEXPIRED: [127, "Key has expired"],
  EKEYREVOKED: [128, "Key has been revoked"],
  EKEYREJECTED: [129, "Key was rejected by service"],
  EDQUOT: [122, "Disk quota exceeded"],
  EUCLEAN: [117, "Structure needs cleaning"],
  ENOMSG: [42, "No message of desired type"],
  EPROTO: [71, "Protocol error"],
  EWOULDBLOCK: [11, "Resource temporarily unavailable"],
  ENOTSUP: [95, "Operation not supported"],
};

/** strerror() text for an errno name, or the name itself if unknown. */
export function strerror(name: string): string {
  return ERRNO[name]?.[1] ?? name;
}

/** errno name for a generic Linux errno number (EAGAIN and EOPNOTSUPP win over their aliases). */
export function errnoName(num: number): ErrnoName | undefined {
  for (const [name, [n]] of Object.entries(ERRNO)) if (n === num) return name as ErrnoName;
  return undefined;
}
