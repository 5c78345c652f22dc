/**
 * Every command's JSON output on the real samples (samples/ko, plain,
 * compressed, signed) validates against its schema under docs/schema/, and a
 * file that cannot be read is an error document in its place (exit status 1).
 */
import test from 'ava';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/index.js');
const SCHEMAS = join(ROOT, 'docs/schema');
const KO = join(ROOT, 'samples/ko');

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...modules(p));
    else if (/\.ko(\.(gz|xz|zst))?$/.test(name)) out.push(p);
  }
  return out;
}

const SAMPLES = modules(KO);
const MISSING = join(KO, 'no-such-module.ko');
// A .ko name over bytes that are no ELF (modinfo takes only *.ko* arguments as files).
const NOT_A_MODULE = join(mkdtempSync(join(tmpdir(), 'kmodkit-schema-')), 'garbage.ko');
writeFileSync(NOT_A_MODULE, readFileSync(join(KO, 'BUILD-INFO')));

const ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true });
for (const f of readdirSync(SCHEMAS)) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')));
const schema = (name: string): ValidateFunction => ajv.getSchema(`https://kmodkit.dev/schemas/${name}.schema.json`)!;

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

const PER_FILE: [string, string[]][] = [
  ['modinfo', ['modinfo', '--json']],
  ['inspect', ['inspect', '--json']],
  ['versions', ['versions', '--json']],
  ['symbols', ['symbols', '--exports', '--json']],
  ['symbols', ['symbols', '--imports', '--json']],
  ['params', ['params', '--json']],
];

for (const [name, args] of PER_FILE) {
  test(`${args.join(' ')}: every document validates against docs/schema/${name}.schema.json; bad files are error documents`, (t) => {
    const validate = schema(name);
    t.truthy(validate, name);
    const files = [...SAMPLES, NOT_A_MODULE, MISSING];
    const r = run([...args, ...files]);
    t.is(r.status, 1, r.stderr);
    const docs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { schemaVersion: number; file: string; error?: { code: string } });
    // modinfo, like kmod, takes a path that does not exist for an alias: a stderr line, no document.
    const expected = name === 'modinfo' ? files.filter((f) => f !== MISSING) : files;
    t.deepEqual(docs.map((d) => d.file), expected);
    for (const d of docs) t.true(validate(d), `${d.file}: ${ajv.errorsText(validate.errors)}`);
    t.true(docs.every((d) => d.schemaVersion === 2));
    t.deepEqual(docs.filter((d) => d.error).map((d) => d.file), expected.slice(SAMPLES.length));
    t.is(docs.find((d) => d.file === NOT_A_MODULE)!.error!.code.startsWith('E'), true);
    t.log(`${docs.length} documents (${SAMPLES.length} samples)`);
  });
}

test('check --format json: the run document validates against docs/schema/check.schema.json', (t) => {
  const validate = schema('check');
  const r = run(['check', '--kernel-release', '6.1.0-56-amd64', '--arch', 'x86_64', '--no-sig-enforce', '--symvers', join(KO, 'Module.symvers'), '--format', 'json', ...SAMPLES, MISSING]);
  t.is(r.status, 2, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: { file: string; error?: { code: string } }[] };
  t.true(validate(doc), ajv.errorsText(validate.errors));
  t.deepEqual(doc.results.map((x) => x.file).sort(), [...SAMPLES, MISSING].sort());
  t.is(doc.results.find((x) => x.file === MISSING)!.error!.code, 'ENOENT');
});

test('schemas reject what the vocabulary rules out', (t) => {
  const v = schema('versions');
  t.true(v({ schemaVersion: 2, file: 'a.ko', basic: [{ name: 'x', crc: '0x0000abcd' }], extended: null }));
  t.false(v({ schemaVersion: 2, file: 'a.ko', basic: [{ name: 'x', crc: 43981 }], extended: null }), 'CRC as number');
  t.false(v({ schemaVersion: 1, file: 'a.ko', basic: null, extended: null }), 'old schema version');
  t.false(schema('modinfo')({ schemaVersion: 2, file: 'a.ko', name: 'a', filename: '/a.ko', compression: null, modinfo: [], fields: { alias: 'x' }, parameters: [], signature: null }), 'a field as a bare string');
});

test('status --json: the document validates against docs/schema/status.schema.json (recorded 6.1 tree with its samples, drifted, and an empty root)', async (t) => {
  const validate = schema('status');
  t.truthy(validate);
  const { driftedSysroot } = await import('../../helpers/sysroot.js');
  const { root } = driftedSysroot(KO);
  const r = run(['status', '--json', '--root', root, '--record', join(root, 'no-record.json')]);
  t.is(r.status, 1, `drifted: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { modules: { name: string; file: { drift: string }; trust: unknown }[] };
  t.true(validate(doc), ajv.errorsText(validate.errors));
  t.deepEqual(doc.modules.map((m) => m.file.drift), ['same', 'replaced', 'gone']);
  t.truthy(doc.modules[0]!.trust, 'trust judged for a file that is there');
  const named = run(['status', '--json', '--no-trust', '--root', root, 'kmodkit_params', 'nosuch']);
  t.is(named.status, 1, 'a name neither loaded nor built in');
  t.true(validate(JSON.parse(named.stdout)), ajv.errorsText(validate.errors));
  const empty = run(['status', '--json', '--root', mkdtempSync(join(tmpdir(), 'kmodkit-status-empty-'))]);
  t.is(empty.status, 0, empty.stderr);
  t.true(validate(JSON.parse(empty.stdout)), ajv.errorsText(validate.errors));
  t.false(validate({ schemaVersion: 2, kernel: {}, modules: [], absent: [], ownership: null, missing: [] }), 'a kernel without its fields');
});
