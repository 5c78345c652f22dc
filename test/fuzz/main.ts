/**
 * `npm run fuzz -- [--text] [--time SECONDS] [--seed N] [--inputs N] [--workers N]
 *                  [--no-save] [--replay ITERATION] [--dump DIR --inputs N]`
 *
 * Runs the mutation fuzzer (see docs/reliability.md). Defaults: 600 s, a
 * seed from the clock (printed, so the run can be repeated), failures
 * minimised and saved to test/fixtures/fuzz/. Exit status 1 when anything
 * failed.
 *   --text       fuzz the text inputs (modprobe.d, Module.symvers, .config, modules.dep.bin) instead of modules
 *   --replay N   regenerate iteration N of --seed and show what each entry point does
 *   --dump DIR   write the generated inputs to DIR instead of running them
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCompression } from '../../lib/compress/detect.js';
import { generate, runInput } from './engine.js';
import { loadSeeds, pickCorpus, repoRoot } from './seeds.js';
import { formatStats } from './stats.js';
import { runFuzz } from './supervisor.js';
import { generateText, loadTextSeeds } from './text-inputs.js';

function parse(argv: string[]) {
  const o: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.slice(2).split('=', 2);
    if (v !== undefined) o[k] = v;
    else if (k.startsWith('no-')) o[k.slice(3)] = false;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o[k] = argv[++i];
    else o[k] = true;
  }
  return o;
}

const USAGE = `usage: npm run fuzz -- [--text] [--time SECONDS] [--seed N] [--inputs N] [--workers N] [--no-save]
                     [--replay ITERATION [--out FILE]] [--dump DIR [--inputs N]]
Runs the mutation fuzzer over every entry point (see docs/reliability.md); 600 s
by default, a seed from the clock (printed). --text fuzzes the readers of
modprobe.d, Module.symvers, .config and modules.dep.bin instead of modules.
KMODKIT_DECODERS=pure forces the pure decoders. Exit status 1 when anything failed.
`;
const OPTIONS = new Set(['time', 'seed', 'inputs', 'workers', 'save', 'replay', 'out', 'dump', 'help', 'text']);

const EXT: Record<string, string> = { none: '.ko', gzip: '.ko.gz', xz: '.ko.xz', zstd: '.ko.zst' };

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('-h')) argv[argv.indexOf('-h')] = '--help';
  let a: Record<string, string | boolean>;
  try {
    a = parse(argv);
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const unknown = Object.keys(a).filter((k) => !OPTIONS.has(k));
  if (unknown.length) {
    process.stderr.write(`fuzz: unknown option --${unknown[0]}\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seed = a.seed !== undefined ? Number(a.seed) >>> 0 : (Date.now() & 0x7fffffff) >>> 0;
  const num = (k: string) => (a[k] !== undefined && a[k] !== true ? Number(a[k]) : undefined);

  const text = a.text === true;
  if (a.replay !== undefined && text) {
    const input = generateText(await loadTextSeeds(), seed, Number(a.replay));
    console.log(`seed ${seed} iteration ${a.replay} (text): ${input.seedName} + ${input.mutators.join('+')}, ${input.data.length} bytes`);
    const r = await runInput(input.data, { text: input.kind });
    for (const o of r.outcomes) console.log(`  ${o.target.padEnd(13)} ${o.result.padEnd(12)} ${o.ms.toFixed(1)} ms`);
    for (const f of r.failures) console.log(`FAIL ${f.signature}: ${f.message}\n${f.stack ?? ''}`);
    if (a.out) writeFileSync(String(a.out), input.data);
    return r.failures.length ? 1 : 0;
  }
  if (a.replay !== undefined) {
    const seeds = await loadSeeds();
    const input = generate(seeds, seed, Number(a.replay));
    console.log(`seed ${seed} iteration ${a.replay}: ${input.seedName} + ${input.mutators.join('+')}, ${input.data.length} bytes`);
    const r = await runInput(input.data);
    for (const o of r.outcomes) console.log(`  ${o.target.padEnd(9)} ${o.result.padEnd(12)} ${o.ms.toFixed(1)} ms`);
    for (const f of r.failures) console.log(`FAIL ${f.signature}: ${f.message}\n${f.stack ?? ''}`);
    if (a.out) writeFileSync(String(a.out), input.data);
    return r.failures.length ? 1 : 0;
  }

  if (a.dump !== undefined) {
    const dir = String(a.dump);
    mkdirSync(dir, { recursive: true });
    const seeds = await loadSeeds({ corpusFiles: pickCorpus() });
    const n = num('inputs') ?? 300;
    for (let i = 0; i < n; i++) {
      const input = generate(seeds, seed, i);
      writeFileSync(join(dir, `fz${String(i).padStart(5, '0')}${EXT[detectCompression(input.data)]}`), input.data);
    }
    console.log(`wrote ${n} inputs of seed ${seed} to ${dir}`);
    return 0;
  }

  const seconds = num('time') ?? (a.inputs !== undefined ? undefined : 600);
  const saveDir = a.save === false ? undefined : join(repoRoot(), 'test', 'fixtures', 'fuzz');
  console.log(`fuzz${text ? ' (text inputs)' : ''}: seed ${seed}${seconds ? `, ${seconds} s` : ''}${a.inputs ? `, ${a.inputs} inputs` : ''} (repeat with --seed ${seed}${text ? ' --text' : ''})`);
  const rep = await runFuzz({
    seed,
    ...(text ? { text } : {}),
    ...(seconds ? { seconds } : {}),
    ...(num('inputs') !== undefined ? { inputs: num('inputs') } : {}),
    ...(num('workers') !== undefined ? { workers: num('workers') } : {}),
    ...(saveDir ? { saveDir } : {}),
    progressMs: 30_000,
    log: (l) => console.log(l),
  });
  console.log(formatStats(rep.stats, { seconds: rep.seconds, workers: rep.workers, seed, failures: rep.failures }));
  for (const f of rep.failures.slice(0, 20)) console.log(`  replay: npm run fuzz -- ${text ? '--text ' : ''}--seed ${f.seed} --replay ${f.iter}`);
  if (rep.saved.length) console.log(`saved ${rep.saved.length} minimised reproducer(s):\n  ${rep.saved.join('\n  ')}`);
  return rep.failures.length ? 1 : 0;
}

main().then(
  (c) => (process.exitCode = c),
  (e) => {
    console.error(e);
    process.exitCode = 2;
  },
);
