/**
 * What depmod reads of a module, by kmod's rules (libkmod's
 * kmod_elf_get_symbols / kmod_elf_get_dependency_symbols, v30 and 34.2),
 * from the one facts extractor (lib/module/facts.ts symbolFacts): hand-built
 * modules showing what real ones never do, each checked against the
 * expected facts and, in a tree beside a module that needs it, against kmod
 * 30 and 34.2 when this machine has them (every file, stderr, exit code).
 */
import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { memorySource } from '../../../lib/bytes/source.js';
import { crcOf, importList } from '../../../lib/depmod/depmod.js';
import { depmodContent } from '../../../lib/depmod/facts.js';
import { readModule } from '../../../lib/module/module.js';
import { readElf } from '../../../lib/elf/file.js';
import { buildElf, cstrings, type SymbolSpec } from '../../helpers/elf-builder.js';
import { copyRoot, kmodFor, kmodkitDepmod, outputs, synthModule, synthTree, type SynthModule } from './synthetic.js';

const contentOf = (bytes: Uint8Array, kmod: '30' | '34') => { const c = depmodContent(readModule(memorySource(bytes)), kmod); return { ...c, imports: importList(c.imports) }; };

/** __versions records (64 bytes: a CRC word for the class, then the name). */
function versions(entries: { crc: number; name: string }[], cls: 32 | 64 = 64, le = true): Uint8Array {
  const out = new Uint8Array(entries.length * 64);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    if (cls === 64) view.setBigUint64(i * 64, BigInt(e.crc), le);
    else view.setUint32(i * 64, e.crc, le);
    out.set(Buffer.from(e.name, 'latin1').subarray(0, 64 - cls / 8), i * 64 + cls / 8);
  });
  return out;
}

/** Set st_name of symbol `index` (64-bit LE table). */
function patchSymbolName(bytes: Uint8Array, index: number, nameOffset: number): Uint8Array {
  const elf = readElf(memorySource(bytes));
  const st = elf.sections.find((s) => s.type === 2)!;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(st.offset + index * 24, nameOffset, true);
  return out;
}

/** Rename a section in place (same length). */
function renameSection(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = bytes.slice();
  const hay = Buffer.from(out.buffer);
  const at = hay.indexOf(Buffer.from(`\0${from}\0`, 'latin1'));
  out.set(Buffer.from(to, 'latin1'), at + 1);
  return out;
}

/** The module under test beside one that needs its symbols, through kmodkit and kmod, in both modes. */
function againstKmod(t: ExecutionContext, mod: SynthModule, extra: SynthModule[] = [], args: string[] = []): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-facts-'));
  try {
    synthTree(path.join(tmp, 'r'), '4.4.4', [mod, ...extra], { 'modules.order': '', 'modules.builtin': '' });
    for (const mode of ['34', '30'] as const) {
      const mine = path.join(tmp, `mine${mode}`), theirs = path.join(tmp, `kmod${mode}`);
      copyRoot(path.join(tmp, 'r'), mine);
      copyRoot(path.join(tmp, 'r'), theirs);
      const m = kmodkitDepmod(['--no-cache', `--kmod-compat=${mode}`, ...args, '-b', mine, '4.4.4']);
      t.is(m.code, 0, m.stderr.toString());
      const kmod = kmodFor(mode);
      if (!kmod) { t.log(`kmod ${mode} is not on this machine`); continue; }
      const k = kmod([...args, '-b', theirs, '4.4.4']);
      t.is(m.stderr.toString('latin1').split(mine).join('ROOT'), k.stderr.toString('latin1').split(theirs).join('ROOT'), `stderr as kmod ${mode}'s`);
      t.is(m.code, k.code);
      const a = outputs(path.join(theirs, 'lib/modules/4.4.4')), b = outputs(path.join(mine, 'lib/modules/4.4.4'));
      t.deepEqual([...b.keys()], [...a.keys()]);
      for (const [f, data] of a) t.true(data.equals(b.get(f)!), `${f} as kmod ${mode}'s`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const USER: SynthModule = { path: 'kernel/user.ko', exports: ['sym_user'], imports: ['foo', 'sym_plain'] };
const PLAIN: SynthModule = { path: 'kernel/plain.ko', exports: ['sym_plain'] };

test('__crc_ symbols are the exports (their section index whatever it is: an undefined one counts), else __ksymtab_strings', (t) => {
  const sym: SymbolSpec[] = [{ name: '__crc_foo', section: 0xfff1, value: 0x1234 }, { name: '__crc_bar', section: 0, value: 0x99 }];
  const bytes = synthModule({ path: 'kernel/crc.ko', exports: ['ignored_when_crcs'], symbols: sym });
  for (const kmod of ['30', '34'] as const) {
    const c = contentOf(bytes, kmod);
    t.deepEqual(c.exports, [{ name: 'foo', crc: 0x1234 }, { name: 'bar', crc: 0x99 }]);
    t.deepEqual(c.imports.map((i) => i.name), ['__crc_bar'], 'an undefined __crc_ symbol is a dependency symbol too');
  }
  againstKmod(t, { path: 'kernel/crc.ko', exports: ['ignored_when_crcs'], symbols: sym }, [USER, PLAIN]);
});

test('a __crc_ symbol in a section: the u32 it labels (big-endian ELF32 too), all ones when out of range; -E compares them', (t) => {
  const crcs = new Uint8Array(8);
  new DataView(crcs.buffer).setUint32(4, 0xcafef00d, true);
  const bytes = buildElf({
    class: 64, le: true,
    sections: [{ name: '.text', type: 1, data: new Uint8Array(16) }, { name: '.modinfo', type: 1, data: cstrings('license=GPL') }, { name: '__kcrctab', type: 1, data: crcs }],
    symbols: [{ name: '__crc_foo', section: '__kcrctab', value: 4 }, { name: '__crc_far', section: '__kcrctab', value: 6 }],
  });
  const c = contentOf(bytes, '34');
  t.deepEqual(c.exports, [{ name: 'foo', crc: 0xcafef00d }, { name: 'far', crc: crcOf(0xffffffffffffffffn) }]);
  const be = buildElf({
    class: 32, le: false, machine: 8,
    sections: [{ name: '.text', type: 1, data: new Uint8Array(16) }, { name: '.modinfo', type: 1, data: cstrings('license=GPL') }, { name: '__kcrctab', type: 1, data: Uint8Array.of(0x12, 0x34, 0x56, 0x78) }],
    symbols: [{ name: '__crc_foo', section: '__kcrctab', value: 0 }],
  });
  t.deepEqual(contentOf(be, '30').exports, [{ name: 'foo', crc: 0x12345678 }]);
  // the user's __versions: one CRC that agrees, one that does not
  const user: SynthModule = { ...USER, sections: [{ name: '__versions', type: 1, data: versions([{ crc: 0xcafef00d, name: 'foo' }, { crc: 1, name: 'far' }, { crc: 7, name: 'module_layout' }]) }], imports: ['foo', 'far'] };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmodkit-depmod-facts-'));
  try {
    fs.writeFileSync(path.join(tmp, 'Module.symvers'), '0x00000007\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n');
    againstKmod(t, { path: 'kernel/crc.ko', bytes }, [user], ['-e', '-E', path.join(tmp, 'Module.symvers')]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a symbol named outside the string table: exports from __ksymtab_strings; an undefined one so named leaves no dependency symbol', (t) => {
  const defined = patchSymbolName(synthModule({ path: 'kernel/x.ko', exports: ['sym_x'], imports: ['sym_plain'], symbols: [{ name: '__crc_sym_x', section: 0xfff1, value: 5 }] }), 1, 0xffff);
  const c = contentOf(defined, '34');
  t.deepEqual(c.exports, [{ name: 'sym_x', crc: 0 }], 'ksymtab strings, not the __crc_ symbol');
  t.deepEqual(c.imports.map((i) => i.name), ['sym_plain']);
  const undef = patchSymbolName(synthModule({ path: 'kernel/y.ko', exports: ['sym_y'], imports: ['sym_plain'] }), 2, 0xffff);
  t.deepEqual(contentOf(undef, '34').imports, []);
  againstKmod(t, { path: 'kernel/x.ko', bytes: defined }, [PLAIN, { path: 'kernel/y.ko', bytes: undef }, { path: 'kernel/z.ko', imports: ['sym_x', 'sym_y'] }]);
});

test('__ksymtab_strings without its last NUL: kmod 30 takes the last string, kmod 34 refuses them ("failed to load symbols")', (t) => {
  const bytes = synthModule({ path: 'kernel/k.ko', sections: [{ name: '__ksymtab_strings', type: 1, data: new Uint8Array(Buffer.from('\0\0first\0second')) }] });
  t.deepEqual(contentOf(bytes, '30').exports.map((e) => e.name), ['first', 'second']);
  const c34 = contentOf(bytes, '34');
  t.deepEqual(c34.exports, []);
  t.is(c34.error, 'Invalid argument');
  againstKmod(t, { path: 'kernel/k.ko', bytes }, [{ path: 'kernel/u.ko', imports: ['first', 'second'] }]);
});

test('__versions: a table of another size is ignored; a name filling its field makes kmod 34 list no dependency symbol at all', (t) => {
  const odd = synthModule({ path: 'kernel/o.ko', imports: ['sym_plain'], sections: [{ name: '__versions', type: 1, data: new Uint8Array(65) }] });
  t.deepEqual(contentOf(odd, '34').imports, [{ name: 'sym_plain', weak: false, crc: 0 }]);
  const long = 'n'.repeat(56);
  const full = synthModule({ path: 'kernel/f.ko', imports: ['sym_plain'], sections: [{ name: '__versions', type: 1, data: versions([{ crc: 3, name: 'sym_plain' }, { crc: 4, name: long }]) }] });
  t.deepEqual(contentOf(full, '34').imports, []);
  t.deepEqual(contentOf(full, '30').imports.map((i) => [i.name.slice(0, 60), i.crc]), [['sym_plain', 3], [long, 4]]);
  againstKmod(t, { path: 'kernel/o.ko', bytes: odd }, [PLAIN, { path: 'kernel/f.ko', bytes: full }]);
});

test('libkmod reads the sections named .symtab and .strtab: a symbol table under another name counts as none', (t) => {
  const bytes = renameSection(synthModule({ path: 'kernel/r.ko', exports: ['sym_r'], imports: ['sym_plain'], symbols: [{ name: '__crc_sym_r', section: 0xfff1, value: 5 }] }), '.symtab', '.Symtab');
  const c = contentOf(bytes, '34');
  t.deepEqual(c.exports, [{ name: 'sym_r', crc: 0 }]);
  t.deepEqual(c.imports, []);
  againstKmod(t, { path: 'kernel/r.ko', bytes }, [PLAIN, { path: 'kernel/u.ko', imports: ['sym_r'] }]);
});

test('SPARC register symbols are not dependency symbols; weak ones are marked weak', (t) => {
  const bytes = buildElf({
    class: 64, le: false, machine: 43,
    sections: [{ name: '.text', type: 1, data: new Uint8Array(16) }, { name: '.modinfo', type: 1, data: cstrings('license=GPL') }],
    symbols: [{ name: '%g7', section: 0, type: 13 }, { name: 'sym_plain', section: 0 }, { name: 'maybe', section: 0, bind: 2 }],
  });
  t.deepEqual(contentOf(bytes, '34').imports, [{ name: 'sym_plain', weak: false, crc: 0 }, { name: 'maybe', weak: true, crc: 0 }]);
});
