/**
 * Text output for several files: each file's block starts with a `FILE:`
 * line, blocks are separated by a blank line (as `head`/`grep` label theirs).
 * One file prints no header, so single-file output stays what the reference
 * tool prints.
 */

/** A header maker for one run over `count` files; call it once per printed file. */
export function fileHeaders(count: number): (file: string) => string {
  let printed = 0;
  return (file) => (count <= 1 ? '' : `${printed++ > 0 ? '\n' : ''}${file}:\n`);
}
