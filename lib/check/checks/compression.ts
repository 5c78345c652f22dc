/**
 * Compressed module files against the target's in-kernel decompressor
 * (CONFIG_MODULE_DECOMPRESS, /sys/module/compression): kmod ≥ 31 hands the
 * file to the kernel when the formats match, and the kernel's xz decoder
 * takes one stream with a CRC32 (or no) check only. Otherwise userspace
 * (kmod, kmodkit) decompresses, which always works.
 */
import { failed, passed, skipped, type Finding } from '../findings.js';
import type { CheckContext } from './context.js';

export function checkCompression(ctx: CheckContext): Finding[] {
  const c = ctx.mod.compression;
  if (c.format === 'none') return [passed('compression.unsupported', 'module is not compressed')];
  const inKernel = ctx.target.inKernelDecompression;
  if (inKernel === undefined) {
    return [skipped('compression.unsupported', `${c.format}-compressed; ${ctx.target.missing.inKernelDecompression ?? 'in-kernel decompression support unknown'}`)];
  }
  const out: Finding[] = [];
  if (!inKernel.includes(c.format)) {
    const what = inKernel.length ? `only decompresses ${inKernel.join('/')}` : 'has no in-kernel module decompression';
    out.push(failed('compression.unsupported', `${c.format}-compressed module: the target kernel ${what}; kmod/kmodkit decompress it in userspace before loading`, { severity: 'info', field: 'compression', detail: { format: c.format, inKernel } }));
    return out;
  }
  out.push(passed('compression.unsupported', `the target kernel decompresses ${c.format} itself`));
  if (c.format === 'xz') {
    const check = c.xzCheck;
    if (check === undefined) out.push(skipped('compression.xz-check', 'xz check type not recorded'));
    else if (check !== 'crc32' && check !== 'none') {
      out.push(failed('compression.xz-check', `xz integrity check is ${check}; the kernel's xz decoder accepts only CRC32 or none ("decompression failed with status 6")`, { errno: 'EINVAL', field: 'xz-check', hint: 'recompress with: xz --check=crc32 --lzma2=dict=1MiB' }));
    } else out.push(passed('compression.xz-check', `xz check ${check}`));
    const streams = c.xzStreams;
    if (streams === undefined) out.push(skipped('compression.xz-streams', 'xz stream count not recorded'));
    else if (streams > 1) out.push(failed('compression.xz-streams', `xz file has ${streams} streams; the kernel decodes only the first`, { errno: 'EINVAL', hint: 'recompress the module as one xz stream' }));
    else out.push(passed('compression.xz-streams', 'single xz stream'));
  }
  return out;
}
