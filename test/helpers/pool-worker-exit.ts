/**
 * A worker script for test/unit/io/worker-pool.test.ts: answers its first
 * chunk, then ends its thread while holding the next one.
 */
import { workerServe } from '../../lib/io/worker-pool.js';

let chunks = 0;
workerServe<number, number[]>(async (chunk) => {
  if (++chunks > 1) process.exit(0);
  return chunk.map((x) => x * 2);
});
