/**
 * `kmodkit strip [--signature] [--debug] [--modversions] [--vermagic] [-o OUT] MODULE...`:
 * remove a module's signature (the exact unsigned bytes come back), its debug
 * information (`strip --strip-debug`, what INSTALL_MOD_STRIP=1 does), or,
 * as insmod -f does, its symbol versions / vermagic. Compressed modules stay
 * in their format.
 */
import { rewriteModuleFile } from '../../lib/io/prepare-files.js';
import { stripForForce } from '../../lib/load/strip.js';
import { findSignature } from '../../lib/module/signature.js';
import { KmodkitError } from '../../lib/errors.js';
import { stripDebug } from '../../lib/prepare/strip-debug.js';
import { unsignedImage } from '../../lib/prepare/sign-module.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import { kmodkitVersionText } from '../version.js';
import { Output } from '../format/output.js';
import { errorLine } from '../each-module.js';

const PROG = 'kmodkit strip';
export const STRIP_HELP: CommandHelp = {
  usage: ['[--signature] [--debug] [--modversions] [--vermagic] [-o OUT] MODULE...'],
  summary: `Remove parts of kernel modules, in place (or into OUT for one MODULE).
Compressed modules (.gz/.xz/.zst) are rewritten in their format.`,
  options: [
    { long: 'signature', short: 's', describe: 'Remove the appended signature: the exact unsigned bytes' },
    { long: 'debug', short: 'g', describe: 'Remove debug information as `strip --strip-debug`\n(INSTALL_MOD_STRIP=1): .debug_* and their relocations' },
    { long: 'modversions', describe: 'Drop the symbol versions (as insmod --force-modversion)' },
    { long: 'vermagic', describe: 'Blank the vermagic (as insmod --force-vermagic)' },
    { long: 'output', short: 'o', arg: 'OUT', describe: 'Write to OUT instead of replacing MODULE' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: [[0, 'every module was rewritten'], [1, 'some module could not be (an error line for each)'], [2, 'usage error']],
  example: 'kmodkit strip --debug -o hello-stripped.ko hello.ko',
};
const SPEC = optSpec(STRIP_HELP);
export const stripUsage = helpText(PROG, STRIP_HELP);

export async function runStrip(args: readonly string[], out = new Output()): Promise<number> {
  const scanned = scanArgs(args, SPEC, PROG);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  const flags = new Set(scanned.opts.map((o) => o.name));
  const output = scanned.opts.find((o) => o.name === 'output')?.value;
  if (flags.has('help') || flags.has('version')) {
    out.text(flags.has('help') ? stripUsage : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const files = scanned.positionals;
  const what = ['signature', 'debug', 'modversions', 'vermagic'].filter((f) => flags.has(f));
  if (files.length === 0 || what.length === 0 || (output && files.length > 1)) {
    out.error(`${PROG}: name what to strip and one or more modules (-o with one module only)\n${stripUsage}`);
    return 2;
  }
  const transform = (image: Uint8Array): Uint8Array => {
    let img = image;
    if (flags.has('signature')) {
      if (findSignature(img) === null) throw new KmodkitError('EINPUT', 'module is not signed');
      img = unsignedImage(img).slice();
    }
    if (flags.has('debug')) {
      if (findSignature(img) !== null) throw new KmodkitError('EINPUT', 'module is signed: stripping debug information would invalidate the signature (add --signature, then sign again)');
      img = stripDebug(img).image;
    }
    if (flags.has('modversions') || flags.has('vermagic')) {
      img = stripForForce(img, { modversions: flags.has('modversions'), vermagic: flags.has('vermagic') }).image;
    }
    return img;
  };
  let failed = false;
  for (const f of files) {
    try {
      await rewriteModuleFile(f, transform, { output });
    } catch (e) {
      out.error(errorLine((e as { file?: string }).file ?? f, e));
      failed = true;
    }
  }
  out.flush();
  return failed ? 1 : 0;
}
