import test from 'ava';
import { memorySource } from '../../../lib/bytes/source.js';
import { readModuleFile } from '../../../lib/io/open.js';
import { btfInfo, buildId, moduleLayout, moduleName, modversionsInfo, sectionSizes, thisModuleInfo } from '../../../lib/module/layout.js';
import { readModule } from '../../../lib/module/module.js';
import { buildElf, cstrings, VARIANTS, type SectionSpec } from '../../helpers/elf-builder.js';

const ko = (n: string) => new URL(`../../../../samples/ko/${n}`, import.meta.url).pathname;

test('kmodkit_params.ko: struct module, init/exit, section sizes, build-id (values from readelf)', async (t) => {
  const mod = await readModuleFile(ko('kmodkit_params.ko'));
  const l = moduleLayout(mod);
  t.deepEqual(l.name, { name: 'kmodkit_params', source: 'modinfo', modinfoName: 'kmodkit_params', thisModuleName: 'kmodkit_params', randstruct: false });
  t.like(l.thisModule, { count: 1, size: 0x380, allocated: true, name: 'kmodkit_params', nameOffset: 24 });
  t.deepEqual(l.thisModule.init, { fieldOffset: 0x138, symbol: 'init_module', functions: ['kmodkit_params_init'], section: '.init.text' });
  t.deepEqual(l.thisModule.exit, { fieldOffset: 0x350, symbol: 'cleanup_module', functions: ['kmodkit_params_exit'], section: '.exit.text' });
  t.deepEqual(l.thisModule.relocations, [{ offset: 0x138, target: 'init_module' }, { offset: 0x350, target: 'cleanup_module' }]);
  t.deepEqual(l.sections, { '.text': 0x6a, '.init.text': 0x1d9, '.exit.text': 0xc, '.data': 0x8d, '.rodata': 0x1a0, '.bss': 1 });
  t.is(l.buildId, '80a986413990d1270cd5ccc55238fbb07fc6eff2');
  t.deepEqual(l.btf, { present: false, base: false });
  t.deepEqual(l.modversions, { basic: true, basicCount: 19, extended: false, present: true });
  t.false(l.signed);
  t.true(moduleLayout(await readModuleFile(ko('signed/kmodkit_params.ko'))).signed);
});

test('kmodkit_initfail.ko: init without exit; absent sections are null', async (t) => {
  const mod = await readModuleFile(ko('kmodkit_initfail.ko.zst'));
  const tm = thisModuleInfo(mod.elf);
  t.is(tm.init?.functions[0], 'kmodkit_initfail_init');
  t.is(tm.exit, undefined);
  const s = sectionSizes(mod.elf);
  t.is(s['.init.text'], 0x1b);
  t.is(s['.exit.text'], null);
  t.is(s['.text'], 0);
  t.is(s['.bss'], 0);
  t.is(buildId(mod.elf), '289c38b54e45872431fdd5f8144a1b0509ef3519');
});

interface TmOpts {
  class: 32 | 64;
  le: boolean;
  modinfo?: string[];
  /** bytes of .gnu.linkonce.this_module */
  tm?: Uint8Array;
  extra?: SectionSpec[];
  noThisModule?: boolean;
}

function synth(o: TmOpts) {
  const P = o.class / 8;
  const nameOff = P === 8 ? 24 : 12;
  let tm = o.tm;
  if (!tm) {
    tm = new Uint8Array(P === 8 ? 0x380 : 0x200);
    tm.set(new TextEncoder().encode('synth_mod'), nameOff);
  }
  const machine = o.class === 64 ? (o.le ? 62 : 22) : o.le ? 3 : 20;
  const abs = o.class === 64 ? (o.le ? 1 : 22) : 1;
  const rela = !(o.class === 32 && o.le);
  const initOff = P === 8 ? 0x138 : 0xa0;
  const exitOff = P === 8 ? 0x350 : 0x1c0;
  const bytes = buildElf({
    class: o.class,
    le: o.le,
    machine,
    sections: [
      { name: '.text', type: 1, flags: 6, data: new Uint8Array(16) },
      { name: '.init.text', type: 1, flags: 6, data: new Uint8Array(32) },
      { name: '.exit.text', type: 1, flags: 6, data: new Uint8Array(8) },
      { name: '.bss', type: 8, flags: 3, size: 4096 },
      ...(o.noThisModule ? [] : [{ name: '.gnu.linkonce.this_module', type: 1, flags: 3, data: tm }]),
      { name: '.modinfo', type: 1, flags: 2, data: cstrings(...(o.modinfo ?? [])) },
      ...(o.extra ?? []),
    ],
    symbols: [
      { name: 'synth_init', type: 2, bind: 0, section: '.init.text', value: 0, size: 32 },
      { name: 'synth_exit', type: 2, bind: 0, section: '.exit.text', value: 0, size: 8 },
      { name: 'init_module', type: 2, bind: 1, section: '.init.text', value: 0, size: 32 },
      { name: 'cleanup_module', type: 2, bind: 1, section: '.exit.text', value: 0, size: 8 },
    ],
    relocs: o.noThisModule || tm.length < exitOff + P
      ? []
      : [{ target: '.gnu.linkonce.this_module', rela, entries: [{ offset: initOff, type: abs, sym: 'init_module' }, { offset: exitOff, type: abs, sym: 'cleanup_module' }] }],
  });
  return readModule(memorySource(bytes));
}

for (const v of VARIANTS) {
  test(`synthetic ${v.label}: name at ${v.class === 64 ? 24 : 12}, init/exit via relocations`, (t) => {
    const mod = synth({ class: v.class, le: v.le, modinfo: ['license=GPL'] });
    const tm = thisModuleInfo(mod.elf);
    t.is(tm.name, 'synth_mod');
    t.is(tm.nameOffset, v.class === 64 ? 24 : 12);
    t.deepEqual(tm.init?.functions, ['synth_init']);
    t.is(tm.init?.section, '.init.text');
    t.deepEqual(tm.exit?.functions, ['synth_exit']);
    const n = moduleName(mod);
    t.is(n.name, 'synth_mod');
    t.is(n.source, 'this_module');
    t.deepEqual(sectionSizes(mod.elf), { '.text': 16, '.init.text': 32, '.exit.text': 8, '.data': null, '.rodata': null, '.bss': 4096 });
  });
}

test('name: modinfo wins; conflicts reported; RANDSTRUCT makes the struct module name unusable', (t) => {
  const a = moduleName(synth({ class: 64, le: true, modinfo: ['name=other'] }));
  t.is(a.name, 'other');
  t.is(a.source, 'modinfo');
  t.regex(a.conflict!, /differs/);
  const r = moduleName(synth({ class: 64, le: true, modinfo: ['vermagic=6.1.0 SMP mod_unload RANDSTRUCT_1a2b3c'] }));
  t.true(r.randstruct);
  t.is(r.name, undefined);
  t.is(r.source, 'none');
  t.is(r.thisModuleName, 'synth_mod');
  const none = moduleName(synth({ class: 32, le: false, noThisModule: true }));
  t.deepEqual(none, { source: 'none', randstruct: false });
  t.deepEqual(thisModuleInfo(synth({ class: 32, le: false, noThisModule: true }).elf), { count: 0, nameOffset: 12, relocations: [] });
});

test('hostile struct module: tiny, unterminated or binary names are not reported as names', (t) => {
  t.is(thisModuleInfo(synth({ class: 64, le: true, tm: new Uint8Array(4) }).elf).name, undefined);
  t.is(thisModuleInfo(synth({ class: 64, le: true, tm: new Uint8Array(0x380).fill(0x41) }).elf).name, undefined);
  const bin = new Uint8Array(0x380);
  bin.set([0x01, 0x02, 0xff, 0], 24);
  t.is(thisModuleInfo(synth({ class: 64, le: true, tm: bin }).elf).name, undefined);
  const tiny = thisModuleInfo(synth({ class: 32, le: true, tm: new Uint8Array(13) }).elf);
  t.is(tiny.size, 13);
  t.is(tiny.name, undefined);
});

test('BTF and modversions presence', (t) => {
  const btf = new Uint8Array(24);
  btf.set([0xeb, 0x9f, 1, 0]); // big-endian magic
  const mod = synth({
    class: 64, le: false,
    extra: [
      { name: '.BTF', type: 1, data: btf },
      { name: '.BTF.base', type: 1, data: new Uint8Array(4) },
      { name: '__version_ext_crcs', type: 1, flags: 2, data: new Uint8Array(4) },
      { name: '__version_ext_names', type: 1, flags: 2, data: cstrings('x') },
    ],
  });
  t.deepEqual(btfInfo(mod.elf), { present: true, size: 24, base: true, magicOk: true });
  t.deepEqual(modversionsInfo(mod.elf), { basic: false, extended: true, present: true });
  const le = synth({ class: 64, le: true, extra: [{ name: '.BTF', type: 1, data: btf }] });
  t.false(btfInfo(le.elf).magicOk);
  t.deepEqual(modversionsInfo(le.elf), { basic: false, extended: false, present: false });
  t.is(buildId(le.elf), undefined);
});
