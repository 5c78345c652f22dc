/**
 * The page's Web Worker: decompression, parsing and checks run here so a
 * large .ko.xz does not freeze the page. One message in (the files), one out.
 */
import { analyse, type DroppedFile } from './analyse.js';

interface Request { id: number; files: DroppedFile[]; release?: string }

const scope = self as unknown as { onmessage: ((e: MessageEvent<Request>) => void) | null; postMessage(m: unknown): void };
scope.onmessage = async (e) => {
  const { id, files, release } = e.data;
  try {
    scope.postMessage({ id, result: await analyse(files, release ? { release } : {}) });
  } catch (err) {
    scope.postMessage({ id, error: `kmodkit: internal error: ${(err as Error).message}` });
  }
};
