/**
 * A ByteSource over an open file descriptor: positioned reads of only the
 * ranges a parser asks for, with a small read-ahead so that the typical
 * module access pattern (ELF header; section table, names and signature near
 * the end; .modinfo in the middle) costs three or four read(2) calls.
 */
import { fstatSync, readSync } from 'node:fs';
import { checkRange } from '../bytes/reader.js';
import type { ByteSource } from '../bytes/source.js';
import { KmodkitError } from '../errors.js';

/** Files up to this size are read whole on first access. */
const WHOLE_FILE_LIMIT = 8 * 1024;
/** The first read covers at least an ELF64 header. */
const HEAD = 64;
/** A read this close to the end pulls in the rest of the file (section table, names, signature). */
const TAIL_WINDOW = 64 * 1024;
/** ...starting this far before the requested offset (.shstrtab usually precedes the section table). */
const TAIL_LEAD = 2048;

interface Chunk { start: number; bytes: Uint8Array }

export interface FileSource extends ByteSource {
  readonly fd: number;
  /** How many bytes were actually read from the file so far. */
  bytesRead(): number;
}

/**
 * `alloc` gives the buffer each read goes into (default: a new one); the
 * bytes handed out live there, so its memory must outlive every use of them.
 */
export function fileSource(fd: number, size?: number, alloc?: (length: number) => Uint8Array): FileSource {
  const fileSize = size ?? fstatSync(fd).size;
  const chunks: Chunk[] = [];
  let total = 0;
  let whole: Uint8Array | undefined;

  function fetch(start: number, length: number): Chunk {
    const c = { start, bytes: readExactly(fd, start, length, undefined, alloc ? alloc(length) : new Uint8Array(length)) };
    total += length;
    chunks.push(c);
    return c;
  }

  const src: FileSource = {
    fd,
    size: fileSize,
    bytesRead: () => total,
    read(offset: number, length: number): Uint8Array {
      checkRange(offset, length, fileSize);
      if (whole) return whole.subarray(offset, offset + length);
      if (fileSize <= WHOLE_FILE_LIMIT) {
        whole = fetch(0, fileSize).bytes;
        return whole.subarray(offset, offset + length);
      }
      for (const c of chunks) {
        if (offset >= c.start && offset + length <= c.start + c.bytes.length) {
          return c.bytes.subarray(offset - c.start, offset - c.start + length);
        }
      }
      let start = offset;
      let end = offset + length;
      if (offset === 0) end = Math.max(end, Math.min(fileSize, HEAD));
      // The first read near the end (the section table) pulls in the rest of the file; later ones
      // (.symtab, .strtab just before it) read only their own bytes, not that tail again.
      if (fileSize - offset <= TAIL_WINDOW && !chunks.some((c) => c.start + c.bytes.length === fileSize)) {
        start = Math.max(0, offset - TAIL_LEAD);
        end = fileSize;
      }
      const c = fetch(start, end - start);
      return c.bytes.subarray(offset - c.start, offset - c.start + length);
    },
  };
  return src;
}

/**
 * Read `length` bytes at `offset` from a descriptor (into `buf`, at least
 * `length` long, when given); a short file is 'ECHANGED' (it shrank after fstat).
 */
export function readExactly(fd: number, offset: number, length: number, path?: string, buf: Uint8Array = new Uint8Array(length)): Uint8Array {
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      n = readSync(fd, buf, got, length - got, offset + got);
    } catch (e) {
      throw new KmodkitError('EIO', `read failed: ${(e as Error).message}`, { ...(path ? { file: path } : {}), cause: e });
    }
    if (n === 0) throw new KmodkitError('ECHANGED', `file shrank while reading (expected ${offset + length} bytes)`, { ...(path ? { file: path } : {}) });
    got += n;
  }
  return buf;
}
