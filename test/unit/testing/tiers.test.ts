/**
 * test/helpers/tier.ts, the one way a tier says it did not run: ava reports
 * the test as skipped (reason in the title), and under CI=true as failed with
 * the reason. Checked by running ava on a small test file in a scratch
 * project and reading its TAP output.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const HELPER = join(ROOT, 'dist/test/helpers/tier.js');
const AVA = join(ROOT, 'node_modules/ava/entrypoints/cli.mjs');

function runAva(ci: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmodkit-tiers-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', ava: { files: ['*.test.mjs'] } }));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'tier.test.mjs'), [
      "import test from 'ava';",
      `import { needs, notRun } from ${JSON.stringify(HELPER)};`,
      "needs('tool X missing')('uses tool X', (t) => { t.pass(); });",
      "needs(undefined)('has what it needs', (t) => { t.is(1, 1); });",
      "notRun('the whole tier', 'no corpus');",
      "needs('not in CI', { inCi: 'optional' })('an optional extra', (t) => { t.pass(); });",
    ].join('\n'));
    const env = { ...process.env, CI: ci ? 'true' : 'false' };
    return spawnSync(process.execPath, [AVA, '--tap'], { cwd: dir, env, encoding: 'utf8' }).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('outside CI: a missing precondition is a skip with its reason, never a pass', (t) => {
  const tap = runAva(false);
  t.regex(tap, /^ok \d+ - uses tool X \[skipped: tool X missing\] # SKIP$/m);
  t.regex(tap, /^ok \d+ - the whole tier \[skipped: no corpus\] # SKIP$/m);
  t.regex(tap, /^ok \d+ - an optional extra \[skipped: not in CI\] # SKIP$/m);
  t.regex(tap, /^ok \d+ - has what it needs$/m);
  t.regex(tap, /^# pass 1$/m, 'only the test that ran passes');
  t.regex(tap, /^# skip 3$/m);
});

test('under CI=true: a required tier that cannot run fails with the reason; an optional one stays skipped', (t) => {
  const tap = runAva(true);
  t.regex(tap, /^not ok \d+ - uses tool X \[cannot run: tool X missing\]$/m);
  t.regex(tap, /^not ok \d+ - the whole tier \[cannot run: no corpus\]$/m);
  t.regex(tap, /cannot run under CI=true, where this tier is required: no corpus/);
  t.regex(tap, /^ok \d+ - an optional extra \[skipped: not in CI\] # SKIP$/m);
  t.regex(tap, /^# fail 2$/m);
});
