/**
 * Module facts and their index, on the real samples: the exporter's exports
 * resolve the consumer's imports and depends=, a module never resolves its
 * own, and the first exporter (in module order) wins.
 */
import test from 'ava';
import { readModuleFile } from '../../../lib/io/open.js';
import { exporterOf, hasModuleNamed, indexModuleFacts, moduleFacts, otherNameCount } from '../../../lib/module/facts.js';
import { readFileSync } from 'node:fs';
import { parseSymvers, symversModuleName } from '../../../lib/check/symvers.js';

const facts = async (n: string, imports = true) => moduleFacts(await readModuleFile(`samples/ko/${n}.ko`), { imports });

test('facts of the exporter and the consumer', async (t) => {
  const exporter = await facts('kmodkit_exporter');
  const consumer = await facts('kmodkit_consumer');
  t.is(exporter.name, 'kmodkit_exporter');
  // The oracle is modpost's Module.symvers from the samples' build, not the decoder moduleFacts uses.
  const symvers = parseSymvers(readFileSync('samples/ko/Module.symvers', 'latin1'));
  const row = (name: string, crc: number | undefined, gplOnly: boolean | undefined, namespace: string | undefined) => ({ name, crc, gplOnly, ...(namespace ? { namespace } : {}) });
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  const want = symvers.entries.filter((e) => symversModuleName(e.module) === 'kmodkit_exporter').map((e) => row(e.symbol, e.crc, e.gplOnly, e.namespace)).sort(byName);
  t.is(want.length, 4, 'Module.symvers lists the exporter\'s four exports');
  t.deepEqual(exporter.exports.map((x) => row(x.name, x.crc, x.gplOnly, x.namespace)).sort(byName), want);
  t.deepEqual(consumer.depends, ['kmodkit_exporter']);
  t.true(consumer.imports.some((i) => exporter.exports.some((x) => x.name === i.name)), 'consumer imports an exporter symbol');
  t.regex(consumer.vermagic ?? '', /^\d+\.\d+/);
  t.deepEqual((await facts('kmodkit_consumer', false)).imports, []);
});

test('the index resolves symbols and names, never to the module itself', async (t) => {
  const exporter = await facts('kmodkit_exporter');
  const index = indexModuleFacts([await facts('hello'), exporter, exporter]);
  const sym = exporter.exports[0].name;
  t.is(exporterOf(index, sym, 'kmodkit_consumer')?.owner, 'kmodkit_exporter');
  t.is(exporterOf(index, sym, 'kmodkit_consumer')?.export, exporter.exports[0], 'the first exporter wins');
  t.is(exporterOf(index, sym, 'kmodkit_exporter'), undefined);
  t.is(exporterOf(index, 'no_such_symbol', 'x'), undefined);
  t.true(hasModuleNamed(index, 'hello', 'kmodkit_consumer'));
  t.false(hasModuleNamed(index, 'hello', 'hello'));
  t.is(otherNameCount(index, 'hello'), 1);
  t.is(otherNameCount(index, 'elsewhere'), 2);
});
