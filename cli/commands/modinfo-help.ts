/**
 * `kmodkit modinfo --help`. The table lives apart from modinfo.ts, whose
 * import time counts when scripts call modinfo once per module: modinfo.ts
 * keeps its getopt spec inline and loads this file only for --help (a unit
 * test checks that the spec is optSpec(MODINFO_HELP)).
 */
import { KMOD_COMPAT_ROW, KMOD_VERSION_ROW, type CommandHelp } from '../help.js';

export const MODINFO_HELP: CommandHelp = {
  usage: ['[options] <modulename|filename> [args]'],
  summary: `Show the information a kernel module records (.modinfo, signature, merged
parm lines), byte-identical to kmod's modinfo. An argument is a module file
when it ends in .ko/.ko.gz/.ko.xz/.ko.zst and is a regular file, else a module
name or alias looked up in /lib/modules/$(uname -r).`,
  options: [
    { long: 'author', short: 'a', describe: "Print only 'author'" },
    { long: 'description', short: 'd', describe: "Print only 'description'" },
    { long: 'license', short: 'l', describe: "Print only 'license'" },
    { long: 'parameters', short: 'p', describe: "Print only 'parm'" },
    { long: 'filename', short: 'n', describe: "Print only 'filename'" },
    { long: 'null', short: '0', describe: 'Use \\0 instead of \\n' },
    { long: 'modname', short: 'm', describe: 'Handle argument as module name instead of alias or filename' },
    { long: 'field', short: 'F', arg: 'FIELD', describe: 'Print only provided FIELD (case-sensitive; the last of -a -d -l -p -n -F wins)' },
    { long: 'set-version', short: 'k', arg: 'VERSION', describe: 'Use VERSION instead of `uname -r`' },
    { long: 'basedir', short: 'b', arg: 'DIR', describe: 'Use DIR as filesystem root for /lib/modules' },
    KMOD_VERSION_ROW,
    { long: 'help', short: 'h', describe: 'Show this help' },
    { long: 'json', short: 'j', describe: 'One JSON document per module and line (docs/modinfo-json.md)', kmodkit: true },
    KMOD_COMPAT_ROW,
  ],
  kmod: `Options marked [kmodkit] are kmodkit's own. .ko.gz modules are read even
where kmod was built without zlib (Debian's kmod 30 and 34.2 print -ZLIB; kmodkit
+ZLIB); kmodkit --version prints kmodkit's own version.`,
  exits: [[0, 'every argument was shown'], [1, 'some module was not found or could not be read, or a usage error']],
  example: 'kmodkit modinfo -F vermagic /lib/modules/$(uname -r)/kernel/fs/fat/fat.ko.xz',
};
