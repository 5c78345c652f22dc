/**
 * Replays every minimised fuzz reproducer (test/fixtures/fuzz/*.bin, written
 * by `npm run fuzz`) through every fuzzed entry point: each must return or
 * throw KmodkitError, within the time limit. A text reproducer (its .json
 * names a `textKind`: `npm run fuzz -- --text`) goes through its reader.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInput } from '../../fuzz/engine.js';
import { repoRoot } from '../../fuzz/seeds.js';
import type { TextKind } from '../../fuzz/text-inputs.js';

const dir = join(repoRoot(), 'test', 'fixtures', 'fuzz');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bin')).sort() : [];

test('reproducers found so far', (t) => {
  t.log(`${files.length} reproducer(s) in ${dir}`);
  t.true(files.length > 0, `no reproducer in ${dir}: the replay would check nothing`);
});

for (const f of files) {
  test(`fuzz regression ${f}`, async (t) => {
    const data = new Uint8Array(readFileSync(join(dir, f)));
    const meta = existsSync(join(dir, f.replace(/\.bin$/, '.json'))) ? readFileSync(join(dir, f.replace(/\.bin$/, '.json')), 'utf8') : '';
    const text = meta ? (JSON.parse(meta) as { textKind?: TextKind }).textKind : undefined;
    const r = await runInput(data, { memory: false, ...(text ? { text } : {}) });
    t.deepEqual(r.failures.map((x) => `${x.signature}: ${x.message}`), [], meta);
    t.log(r.outcomes.map((o) => `${o.target}=${o.result}`).join(' '));
  });
}
