/**
 * Random access to a module's bytes, so that parsers read only what they need.
 *
 * A ByteSource is either memory (zero-copy subarrays) or, through the I/O
 * layer (lib/io), a file read with positioned reads. The ELF reader and the
 * module decoders only ever talk to this interface (the idea of the Rust
 * `object` crate's ReadRef), which keeps them free of node:fs.
 */
import { checkRange } from './reader.js';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset+length). Bounds-checked (KmodkitError 'ETRUNCATED').
   * The result may share memory with the source: do not modify it.
   */
  read(offset: number, length: number): Uint8Array;
  /** The whole content, when the source already holds it in memory. */
  readonly memory?: Uint8Array;
}

export function memorySource(data: Uint8Array): ByteSource {
  return {
    size: data.length,
    memory: data,
    read(offset: number, length: number): Uint8Array {
      checkRange(offset, length, data.length);
      return data.subarray(offset, offset + length);
    },
  };
}

/** All bytes of a source (zero-copy for memory sources). */
export function readAll(src: ByteSource): Uint8Array {
  return src.memory ?? src.read(0, src.size);
}
