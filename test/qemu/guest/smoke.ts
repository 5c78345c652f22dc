/**
 * Runs INSIDE the QEMU guest (as root, real kernel), started by
 * test/qemu/smoke.test.ts:  node dist/test/qemu/guest/smoke.js <module.ko>
 *
 * Drives lib/load/syscalls.ts directly and prints one line per step:
 *   SMOKE-STEP {"step":..., "ok":true|false, "expected":..., "got":...}
 * then SMOKE-INFO {...} (kernel facts) and SMOKE-SUMMARY {"passed":n,"failed":n,"syscalls":n}.
 * The host side asserts on these lines. Exit status 0 when every step passed.
 */

import * as fs from 'node:fs';
import { isKmodkitError } from '../../../lib/errors.js';
import {
  loadSyscalls,
  MODULE_INIT_COMPRESSED_FILE,
  O_NONBLOCK,
  type ModuleSyscalls,
} from '../../../lib/load/syscalls.js';

interface Step {
  step: string;
  ok: boolean;
  expected: string;
  got: string;
  detail?: unknown;
}

const steps: Step[] = [];
let syscallCount = 0;

function loadedModules(): Set<string> {
  return new Set(
    fs
      .readFileSync('/proc/modules', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0]),
  );
}

/** Run one syscall; 'ok' or the errno name (anything else is rethrown). */
function outcome(fn: () => void): string {
  syscallCount++;
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (isKmodkitError(e) && e.code === 'ESYSCALL' && e.errno) return e.errno;
    throw e;
  }
}

function record(step: string, expected: string, got: string, detail?: unknown): boolean {
  const s: Step = { step, ok: got === expected, expected, got };
  if (detail !== undefined) s.detail = detail;
  steps.push(s);
  console.log(`SMOKE-STEP ${JSON.stringify(s)}`);
  return s.ok;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

async function main(): Promise<number> {
  const ko = process.argv[2];
  if (!ko) throw new Error('usage: smoke.js <module.ko>');
  const sys: ModuleSyscalls = await loadSyscalls();
  const before = loadedModules();

  // 1. finit_module
  const fd = fs.openSync(ko, 'r');
  let got: string;
  try {
    got = outcome(() => sys.finitModule(fd, '', 0));
  } finally {
    fs.closeSync(fd);
  }
  const added = [...loadedModules()].filter((m) => !before.has(m));
  record('finit_module', 'ok', got);
  // 2. /proc/modules shows exactly one new module: its name
  const name = added[0] ?? '';
  record('proc_modules_after_finit', 'listed', added.length === 1 ? 'listed' : `new=${JSON.stringify(added)}`, {
    name,
    line: fs.readFileSync('/proc/modules', 'utf8').split('\n').find((l) => l.startsWith(`${name} `)),
  });

  // 3. finit again → EEXIST
  const fd2 = fs.openSync(ko, 'r');
  try {
    record('finit_module_again', 'EEXIST', outcome(() => sys.finitModule(fd2, '', 0)));
    // 3b. (info) a flag the kernel does not know → EINVAL
    record('finit_module_bad_flags', 'EINVAL', outcome(() => sys.finitModule(fd2, '', 0x80)));
  } finally {
    fs.closeSync(fd2);
  }

  // 4. delete_module → ok, gone from /proc/modules
  record('delete_module', 'ok', outcome(() => sys.deleteModule(name, O_NONBLOCK)));
  record('proc_modules_after_delete', 'absent', loadedModules().has(name) ? 'present' : 'absent');
  // 5. delete again → ENOENT
  record('delete_module_again', 'ENOENT', outcome(() => sys.deleteModule(name, O_NONBLOCK)));

  // 6. init_module with the image bytes → ok; then delete
  const image = fs.readFileSync(ko);
  record('init_module', 'ok', outcome(() => sys.initModule(image, '')));
  record('proc_modules_after_init', 'present', loadedModules().has(name) ? 'present' : 'absent');
  record('init_module_again', 'EEXIST', outcome(() => sys.initModule(image, '')));
  record('delete_module_after_init', 'ok', outcome(() => sys.deleteModule(name, O_NONBLOCK)));

  // 7. init_module with garbage → ENOEXEC
  record('init_module_garbage', 'ENOEXEC', outcome(() => sys.initModule(new Uint8Array(4096).fill(0x41), '')));

  // 8. MODULE_INIT_COMPRESSED_FILE: without CONFIG_MODULE_DECOMPRESS the
  //    kernel answers EOPNOTSUPP; with it, a plain ELF is not a valid stream (EINVAL).
  const compression = readOr('/sys/module/compression', '(absent)');
  const fd3 = fs.openSync(ko, 'r');
  try {
    record(
      'finit_module_compressed_flag_on_plain_ko',
      compression === '(absent)' ? 'EOPNOTSUPP' : 'EINVAL',
      outcome(() => sys.finitModule(fd3, '', MODULE_INIT_COMPRESSED_FILE)),
    );
  } finally {
    fs.closeSync(fd3);
  }
  if (loadedModules().has(name)) sys.deleteModule(name, O_NONBLOCK);

  const info = {
    release: readOr('/proc/sys/kernel/osrelease', '?'),
    version: readOr('/proc/sys/kernel/version', '?'),
    compression,
    sig_enforce: readOr('/sys/module/module/parameters/sig_enforce', '(absent)'),
    lockdown: readOr('/sys/kernel/security/lockdown', '(absent)'),
    tainted: readOr('/proc/sys/kernel/tainted', '?'),
    module: name,
    file: ko,
  };
  console.log(`SMOKE-INFO ${JSON.stringify(info)}`);
  const failed = steps.filter((s) => !s.ok).length;
  console.log(
    `SMOKE-SUMMARY ${JSON.stringify({ passed: steps.length - failed, failed, steps: steps.length, syscalls: syscallCount })}`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.log(`SMOKE-ERROR ${JSON.stringify(String((e as Error)?.stack ?? e))}`);
    process.exit(2);
  },
);
