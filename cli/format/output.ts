/**
 * Buffered byte output to stdout/stderr that keeps their relative order
 * (stdout is flushed before anything goes to stderr) and writes raw bytes,
 * so output can be byte-identical to C tools that print unconverted strings.
 */
import { writeSync } from 'node:fs';

const enc = new TextEncoder();

export class Output {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly fd = 1, private readonly errFd = 2, private readonly limit = 256 * 1024) {}

  text(s: string): void {
    this.bytes(enc.encode(s));
  }

  bytes(b: Uint8Array): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
    if (this.size >= this.limit) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    writeAll(this.fd, all);
  }

  /** One line on stderr (a newline is added). */
  error(line: string): void {
    this.flush();
    writeAll(this.errFd, enc.encode(line + '\n'));
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(0);
      throw e;
    }
  }
}
