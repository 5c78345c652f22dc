/**
 * 6.16's "module:" export namespaces (EXPORT_SYMBOL_FOR_MODULES), matched as the
 * kernel's verify_module_namespace does: whole names or a trailing-'*' prefix,
 * '-' and '_' equal. The names are Debian sid 7.2's real ones (Module.symvers).
 */
import test from 'ava';
import { namespaceOk } from '../../../lib/check/checks/symbols.js';

test('module: namespaces name the importing module, - and _ equal', (t) => {
  const kvm = 'module:kvm,kvm-amd,kvm-intel';
  for (const m of ['kvm', 'kvm_amd', 'kvm-amd', 'kvm_intel']) t.true(namespaceOk(kvm, [], m), m);
  for (const m of ['kvm_amd2', 'kv', 'xkvm', 'kvm_']) t.false(namespaceOk(kvm, [], m), m);
});

test('module: trailing * is a prefix match, elsewhere a plain character; empty entries match nothing', (t) => {
  t.true(namespaceOk('module:snd-hda-*', [], 'snd_hda_codec_realtek'));
  t.true(namespaceOk('module:*', [], 'anything'));
  t.false(namespaceOk('module:s*d', [], 'sound'));
  t.false(namespaceOk('module:,', [], ''));
  t.false(namespaceOk('module:a,,b', [], 'c'));
});

test('ordinary namespaces need import_ns; a module: namespace imported literally also counts', (t) => {
  t.true(namespaceOk('CXL', ['CXL'], 'x'));
  t.false(namespaceOk('CXL', [], 'CXL'));
  t.true(namespaceOk('module:kvm', ['module:kvm'], 'other'));
  t.false(namespaceOk('MODULE:kvm', [], 'kvm'));
});
