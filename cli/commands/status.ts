/**
 * `kmodkit status [NAME...]`: what is loaded and whether it is still what
 * is on disk — systemStatus() (lib/io/status.ts) as text or one JSON
 * document (docs/schema/status.schema.json, docs/status.md).
 */
import { systemStatus } from '../../lib/io/status.js';
import { formatStatus } from '../format/status.js';
import { DOCUMENT_SCHEMA_VERSION } from '../../lib/module/document-parts.js';
import { Output } from '../format/output.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, VERSION_ROW, helpText, optSpec, type CommandHelp } from '../help.js';
import { kmodkitVersionText } from '../version.js';

export const STATUS_HELP: CommandHelp = {
  usage: ['[options] [NAME...]'],
  summary: `The loaded modules and the kernel's module policy: per module its state, size,
refcount, users and holders, taint letters, live parameters beside modprobe.d's
options, srcversion and build-id compared with the file modules.dep names for
it (same, replaced, gone, other-kernel), whether it is blacklisted or owned by
a kmodkit daemon, and whether the kernel trusts its file's signature (as check
decides it); for the kernel its taint mask, sig_enforce, lockdown, in-kernel
decompression and whether the modules index is older than the tree. With
NAMEs, only those modules (a NAME not loaded is reported as built in or not
loaded). What cannot be read is reported as unknown.`,
  options: [
    { long: 'json', short: 'j', describe: 'One JSON document (docs/schema/status.schema.json)' },
    { long: 'root', arg: 'DIR', describe: 'Read DIR/proc, DIR/sys, DIR/lib/modules and DIR/etc/modprobe.d' },
    { long: 'record', arg: 'FILE', describe: "A kmodkit daemon's ownership record: its modules are marked owned" },
    { long: 'no-trust', describe: 'Do not judge signatures (skips /proc/keys and the kernel image)' },
    HELP_ROW,
    VERSION_ROW,
  ],
  exits: [
    [0, 'the status was printed and nothing drifted'],
    [1, 'a named module is neither loaded nor built in, or a loaded module\'s file was replaced, is gone or is from another kernel'],
    [2, 'usage error'],
  ],
  example: 'kmodkit status --json | jq \'.modules[] | select(.file.drift != "same")\'',
};

export async function runStatus(args: readonly string[], out = new Output()): Promise<number> {
  const prog = 'kmodkit status';
  const r = scanArgs(args, optSpec(STATUS_HELP), prog);
  if (r.error) {
    out.error(r.error);
    return 2;
  }
  const has = (n: string): boolean => r.opts.some((o) => o.name === n);
  if (has('help') || has('version')) {
    out.text(has('help') ? helpText(prog, STATUS_HELP) : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const record = r.opts.find((o) => o.name === 'record')?.value;
  const s = await systemStatus({
    root: r.opts.find((o) => o.name === 'root')?.value ?? '',
    ...(r.positionals.length ? { names: r.positionals } : {}),
    ...(record !== undefined ? { ownershipRecord: record } : {}),
    trust: !has('no-trust'),
  });
  if (has('json')) out.text(JSON.stringify({ schemaVersion: DOCUMENT_SCHEMA_VERSION, ...s }) + '\n');
  else out.text(formatStatus(s));
  out.flush();
  const drifted = s.modules.some((m) => m.file.drift === 'replaced' || m.file.drift === 'gone' || m.file.drift === 'other-kernel');
  return drifted || s.absent.some((a) => !a.builtin) ? 1 : 0;
}
