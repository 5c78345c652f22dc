/**
 * Module facts and their index, on the real samples: the exporter's exports
 * resolve the consumer's imports and depends=, a module never resolves its
 * own, and the first exporter (in module order) wins.
 */
import test from 'ava';
import { readModuleFile } from '../../../lib/io/open.js';
import { exporterOf, hasModuleNamed, indexModuleFacts, moduleFacts, otherNameCount } from '../../../lib/module/facts.js';
import { moduleExports } from '../../../lib/module/exports.js';

const facts = async (n: string, imports = true) => moduleFacts(await readModuleFile(`samples/ko/${n}.ko`), { imports });

test('facts of the exporter and the consumer', async (t) => {
  const exporter = await facts('kmodkit_exporter');
  const consumer = await facts('kmodkit_consumer');
  t.is(exporter.name, 'kmodkit_exporter');
  t.deepEqual(exporter.exports.map((x) => x.name), moduleExports((await readModuleFile('samples/ko/kmodkit_exporter.ko')).elf).map((x) => x.name));
  t.true(exporter.exports.length > 0);
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
