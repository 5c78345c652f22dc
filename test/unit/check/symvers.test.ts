import test from 'ava';
import { parseSymvers, symversModuleName } from '../../../lib/check/symvers.js';
import { KmodkitError } from '../../../lib/errors.js';

test('very old 3-column format: crc symbol module', (t) => {
  const s = parseSymvers('0x12345678\tprintk\tvmlinux\n0x0000abcd\tscsi_add_host\tdrivers/scsi/scsi_mod\n');
  t.deepEqual(s.formats, ['3-column']);
  t.is(s.entries.length, 2);
  const e = s.bySymbol.get('scsi_add_host')!;
  t.is(e.crc, 0xabcd);
  t.is(e.module, 'drivers/scsi/scsi_mod');
  t.is(e.type, undefined);
  t.is(e.gplOnly, undefined);
  t.true(s.hasCrcs);
});

test('4-column format (≤ 5.3): crc symbol module type', (t) => {
  const s = parseSymvers('0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\n0x039823de\tinit_uts_ns\tvmlinux\tEXPORT_SYMBOL_GPL\n0x00000001\tfoo\tfs/x\tEXPORT_UNUSED_SYMBOL_GPL\n0x00000002\tbar\tfs/x\tEXPORT_SYMBOL_GPL_FUTURE\n');
  t.deepEqual(s.formats, ['4-column']);
  t.false(s.bySymbol.get('phys_base')!.gplOnly);
  t.true(s.bySymbol.get('init_uts_ns')!.gplOnly);
  t.true(s.bySymbol.get('foo')!.gplOnly);
  t.false(s.bySymbol.get('bar')!.gplOnly);
  t.is(s.bySymbol.get('bar')!.type, 'EXPORT_SYMBOL_GPL_FUTURE');
});

test('5.4.0–5.5 format: namespace in the middle', (t) => {
  const s = parseSymvers('0x11111111\tusb_stor_probe1\tUSB_STORAGE\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\n0x22222222\tprintk\t\tvmlinux\tEXPORT_SYMBOL\n');
  t.deepEqual(s.formats, ['5-column-ns-middle']);
  const e = s.bySymbol.get('usb_stor_probe1')!;
  t.is(e.namespace, 'USB_STORAGE');
  t.is(e.module, 'drivers/usb/storage/usb-storage');
  t.is(symversModuleName(e.module), 'usb_storage');
  t.is(s.bySymbol.get('printk')!.namespace, undefined);
});

test('5.6+ format: namespace last, empty namespace ends the line with a tab', (t) => {
  const s = parseSymvers('0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n0x33333333\tusb_stor_probe1\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\tUSB_STORAGE\r\n\n');
  t.deepEqual(s.formats, ['5-column-ns-last']);
  t.is(s.bySymbol.get('phys_base')!.namespace, undefined);
  t.is(s.bySymbol.get('usb_stor_probe1')!.namespace, 'USB_STORAGE');
  t.true(s.bySymbol.get('usb_stor_probe1')!.gplOnly);
});

test('without MODVERSIONS every CRC is 0: hasCrcs false', (t) => {
  const s = parseSymvers('0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n');
  t.false(s.hasCrcs);
});

test('duplicates keep the first and are listed', (t) => {
  const s = parseSymvers('0x1\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x2\ta\tm\tEXPORT_SYMBOL\t\n');
  t.is(s.bySymbol.get('a')!.crc, 1);
  t.deepEqual(s.duplicates, ['a']);
});

test('malformed lines raise ETARGET with the line number', (t) => {
  for (const bad of ['0x1\tonly-two', '0x1\ta\tb\tc\td\te\tf', 'zz\ta\tvmlinux\tEXPORT_SYMBOL', '0x1\ta\tvmlinux\tNOT_EXPORT', '0x1\ta\tb\tc\td']) {
    const e = t.throws(() => parseSymvers(`0x1\tok\tvmlinux\tEXPORT_SYMBOL\n${bad}\n`), { instanceOf: KmodkitError });
    t.is(e!.code, 'ETARGET');
    t.regex(e!.message, /line 2/);
  }
});

test('the real Debian 6.1 Module.symvers parses', async (t) => {
  const { readSymversFile } = await import('../../../lib/io/target.js');
  const s = await readSymversFile('samples/target/6.1.0-56-amd64/Module.symvers.xz');
  t.deepEqual(s.formats, ['5-column-ns-last']);
  t.true(s.entries.length > 20000);
  t.true(s.hasCrcs);
  t.is(s.bySymbol.get('module_layout')!.module, 'vmlinux');
});

test('compressed Module.symvers files are read (gz, xz)', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { gzipSync } = await import('node:zlib');
  const { execFileSync } = await import('node:child_process');
  const { readSymversFile } = await import('../../../lib/io/target.js');
  const dir = mkdtempSync('/tmp/kmodkit-symvers-');
  const text = '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n';
  writeFileSync(`${dir}/symvers.gz`, gzipSync(text));
  t.is((await readSymversFile(`${dir}/symvers.gz`)).bySymbol.get('printk')!.crc, 0x12345678);
  writeFileSync(`${dir}/symvers`, text);
  execFileSync('xz', ['--check=crc64', '-k', `${dir}/symvers`]);
  t.is((await readSymversFile(`${dir}/symvers.xz`)).bySymbol.get('printk')!.crc, 0x12345678);
  await t.throwsAsync(readSymversFile(`${dir}/nope`), { instanceOf: KmodkitError, code: 'ENOENT' } as never);
});

test('lookups before the table is built answer as the table does (symbol field only, first entry, line numbers)', (t) => {
  // "vmlinux" and "EXPORT_SYMBOL" appear in other fields; "a" twice; a blank line shifts the line numbers
  const text = '0x1\tvmlinux_user\tvmlinux\tEXPORT_SYMBOL\t\n\n0x2\ta\tm/a\tEXPORT_SYMBOL_GPL\tNS\r\n0x3\ta\tm/b\tEXPORT_SYMBOL\t\n0x4\tvmlinux\tx\tEXPORT_SYMBOL\t\n';
  const lazy = parseSymvers(text);
  t.is(lazy.count, 4);
  t.deepEqual(lazy.bySymbol.get('a'), { crc: 2, symbol: 'a', module: 'm/a', line: 3, type: 'EXPORT_SYMBOL_GPL', gplOnly: true, namespace: 'NS' });
  t.is(lazy.bySymbol.get('vmlinux')!.line, 5);
  t.is(lazy.bySymbol.get('EXPORT_SYMBOL'), undefined);
  t.is(lazy.bySymbol.get('m/a'), undefined);
  t.is(lazy.bySymbol.get(''), undefined);
  t.false(lazy.bySymbol.has('a\tm/a'));
  // the entry a lookup made is the one the table holds
  const a = lazy.bySymbol.get('a')!;
  t.is(lazy.entries[1], a);
  t.deepEqual(lazy.duplicates, ['a']);
  t.is(lazy.bySymbol.size, 3);
  t.deepEqual([...lazy.bySymbol.keys()], ['vmlinux_user', 'a', 'vmlinux']);
});

test('many lookups switch to the table and keep answering the same', (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) lines.push(`0x${i.toString(16)}\tsym_${i}\tvmlinux\tEXPORT_SYMBOL\t`);
  const s = parseSymvers(lines.join('\n'));
  for (let i = 0; i < 500; i += 7) t.is(s.bySymbol.get(`sym_${i}`)!.crc, i);
  for (let i = 0; i < 50; i++) t.is(s.bySymbol.get(`missing_${i}`), undefined);
  t.is(s.bySymbol.get('sym_499')!.line, 500);
  t.is(s.entries.length, 500);
  // once built, the table's own Map answers (a kept reference to the searching one still agrees)
  t.true(s.bySymbol instanceof Map);
  t.is(s.bySymbol.get('sym_7')!.crc, 7);
});

test('every layout and odd line parse to the same entries whichever way a line is read', (t) => {
  // the common lines of each era, and lines only the general reader takes (six fields with a blank sixth, a lone CR field)
  const s = parseSymvers([
    '0x0000000a\tns_middle\tNS\tdrivers/x\tEXPORT_SYMBOL_GPL',
    '0x0000000b\tns_middle_none\t\tvmlinux\tEXPORT_SYMBOL\r',
    '0x0000000c\tsix\tvmlinux\tEXPORT_SYMBOL\t\t ',
    '0X100000000000000d\tcrc_long\tvmlinux\tEXPORT_SYMBOL\t',
  ].join('\n'));
  t.deepEqual(s.formats, ['5-column-ns-middle', '5-column-ns-last']);
  t.deepEqual(s.bySymbol.get('ns_middle'), { crc: 10, symbol: 'ns_middle', module: 'drivers/x', line: 1, type: 'EXPORT_SYMBOL_GPL', gplOnly: true, namespace: 'NS' });
  t.deepEqual(s.bySymbol.get('ns_middle_none'), { crc: 11, symbol: 'ns_middle_none', module: 'vmlinux', line: 2, type: 'EXPORT_SYMBOL', gplOnly: false });
  t.deepEqual(s.bySymbol.get('six'), { crc: 12, symbol: 'six', module: 'vmlinux', line: 3, type: 'EXPORT_SYMBOL', gplOnly: false });
  t.is(s.bySymbol.get('crc_long')!.crc, 13);
  t.true(s.hasCrcs);
});
