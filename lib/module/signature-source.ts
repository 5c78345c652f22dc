/**
 * Finds the appended signature through a ByteSource, reading only the tail
 * of the file (marker, struct module_signature and the signature blob).
 */
import type { ByteSource } from '../bytes/source.js';
import { findSignature, type ModuleSignature } from './signature.js';

export type { ModuleSignature };

const MARKER_LEN = 28;
const STRUCT_LEN = 12;

export function findSignatureIn(src: ByteSource): ModuleSignature | null {
  if (src.memory) return findSignature(src.memory);
  if (src.size < MARKER_LEN + STRUCT_LEN) return findSignature(src.read(0, src.size));
  const tail = src.read(src.size - MARKER_LEN - STRUCT_LEN, MARKER_LEN + STRUCT_LEN);
  // signer_len (byte 3), key_id_len (byte 4), be32 sig_len (bytes 8..11)
  const blob = tail[3] + tail[4] + ((tail[8] << 24) >>> 0) + (tail[9] << 16) + (tail[10] << 8) + tail[11];
  // One byte of module data is kept in front of the blob, so that checks on
  // "is anything left to sign" see what they would see in the whole image.
  const want = MARKER_LEN + STRUCT_LEN + blob + 1;
  const start = want <= src.size ? src.size - want : 0;
  const bytes = src.read(start, src.size - start);
  const sig = findSignature(bytes);
  if (sig && start > 0) return { ...sig, moduleSize: sig.moduleSize + start };
  return sig;
}
