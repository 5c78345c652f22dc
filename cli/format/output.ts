/**
 * Buffered byte output to stdout/stderr that keeps their relative order
 * (stdout is flushed before anything goes to stderr) and writes raw bytes,
 * so output can be byte-identical to C tools that print unconverted strings.
 */
import { writeSync } from 'node:fs';

const enc = new TextEncoder();

/** Where a command writes: stdout bytes and stderr lines, in order. */
export interface Sink {
  text(s: string): void;
  bytes(b: Uint8Array): void;
  /** One line on stderr (a newline is added). */
  error(line: string): void;
}

export class Output implements Sink {
  /** One buffer: text is encoded straight into it, bytes copied; written out when full. */
  private readonly buf: Uint8Array;
  private pos = 0;
  /** The reader of stdout / stderr went away (EPIPE): drop further output. */
  private outClosed = false;
  private errClosed = false;

  constructor(private readonly fd = 1, private readonly errFd = 2, limit = 256 * 1024) {
    this.buf = new Uint8Array(limit);
  }

  text(s: string): void {
    if (s.length === 0) return;
    // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (s.length * 3 > this.buf.length - this.pos) {
      this.flush();
      if (s.length * 3 > this.buf.length) {
        if (!this.outClosed && !writeAll(this.fd, enc.encode(s))) this.outClosed = true;
        return;
      }
    }
    this.pos += enc.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  bytes(b: Uint8Array): void {
    if (b.length === 0) return;
    if (b.length > this.buf.length - this.pos) {
      this.flush();
      if (b.length > this.buf.length) {
        if (!this.outClosed && !writeAll(this.fd, b)) this.outClosed = true;
        return;
      }
    }
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    if (!this.outClosed && !writeAll(this.fd, this.buf.subarray(0, n))) this.outClosed = true;
  }

  /** One line on stderr (a newline is added). */
  error(line: string): void {
    this.flush();
    if (!this.errClosed && !writeAll(this.errFd, enc.encode(line + '\n'))) this.errClosed = true;
  }
}

/**
 * Writing the output failed for a reason other than a closed pipe (ENOSPC on
 * /dev/full, EIO, EBADF): the command cannot deliver its result. cli/index.ts
 * turns it into one line on stderr and exit status 2.
 */
export class OutputError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/**
 * Write all of `data`; false when the reader has gone (EPIPE: `| head -1`),
 * in which case the caller stops writing and the command still finishes
 * with its own exit status.
 */
function writeAll(fd: number, data: Uint8Array): boolean {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EPIPE') return false;
      throw new OutputError(err.code ?? 'EIO', `write error on ${fd === 1 ? 'standard output' : fd === 2 ? 'standard error' : `fd ${fd}`}: ${err.code === 'ENOSPC' ? 'No space left on device' : err.message}`);
    }
  }
  return true;
}
