/**
 * A minimal writer for the "newc" cpio format (magic 070701), the one the
 * kernel's initramfs unpacker (init/initramfs.c) reads. Entries are
 * directories, regular files, symlinks and character devices; every archive
 * ends with the TRAILER!!! entry. Archives (gzip-compressed or not) can be
 * concatenated: the kernel unpacks each in turn, later entries overwriting
 * earlier ones.
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Collects entries and renders them as one newc archive (a list of chunks). */
export class CpioWriter {
  private chunks: Uint8Array[] = [];
  private ino = 1;
  private size = 0;
  private readonly seen = new Set<string>();
  private readonly mtime: number;

  constructor(mtime = 0) {
    this.mtime = mtime;
  }

  /** Normalise "/a/b" and "a/b" to "a/b" (the kernel accepts both). */
  private static norm(p: string): string {
    const s = p.replace(/^\/+/, '').replace(/\/+$/, '');
    if (s === '' || s.split('/').includes('..')) throw new Error(`bad cpio path: ${p}`);
    return s;
  }

  has(path: string): boolean {
    return this.seen.has(CpioWriter.norm(path));
  }

  /** Add the directory and all its parents unless already present. */
  mkdirp(path: string, mode = 0o755): void {
    const parts = CpioWriter.norm(path).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!this.seen.has(p)) this.add({ kind: 'dir', path: p, mode });
    }
  }

  add(e: CpioEntry): void {
    const name = CpioWriter.norm(e.path);
    const slash = name.lastIndexOf('/');
    if (slash > 0) this.mkdirp(name.slice(0, slash));
    this.seen.add(name);
    let mode: number;
    let data: Uint8Array = new Uint8Array(0);
    let rmaj = 0;
    let rmin = 0;
    switch (e.kind) {
      case 'dir':
        mode = S_IFDIR | (e.mode ?? 0o755);
        break;
      case 'file':
        mode = S_IFREG | (e.mode ?? 0o644);
        data = e.data;
        break;
      case 'symlink':
        mode = S_IFLNK | 0o777;
        data = new TextEncoder().encode(e.target);
        break;
      case 'chardev':
        mode = S_IFCHR | (e.mode ?? 0o600);
        rmaj = e.major;
        rmin = e.minor;
        break;
    }
    this.push(name, mode, data, rmaj, rmin);
  }

  private push(name: string, mode: number, data: Uint8Array, rmaj: number, rmin: number): void {
    const nameBytes = new TextEncoder().encode(name + '\0');
    const header =
      '070701' +
      hex8(this.ino++) +
      hex8(mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(1) + // nlink
      hex8(this.mtime) +
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(rmaj) +
      hex8(rmin) +
      hex8(nameBytes.length) +
      hex8(0); // check
    const head = new TextEncoder().encode(header); // 110 bytes
    this.emit(head);
    this.emit(nameBytes);
    this.emit(new Uint8Array(pad4(head.length + nameBytes.length)));
    if (data.length > 0) {
      this.emit(data);
      this.emit(new Uint8Array(pad4(data.length)));
    }
  }

  private emit(b: Uint8Array): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
  }

  /** Finish the archive (adds TRAILER!!!) and return its chunks. */
  finish(): Uint8Array[] {
    this.push('TRAILER!!!', 0, new Uint8Array(0), 0, 0);
    const out = this.chunks;
    this.chunks = [];
    return out;
  }

  get byteLength(): number {
    return this.size;
  }
}
