import test from 'ava';
import { parseKconfig } from '../../../lib/check/kconfig.js';
import { parseArch } from '../../../lib/check/arch.js';
import { expectedVermagic, matchExpected, parseVermagic, sameMagic, kernelVersion } from '../../../lib/check/vermagic.js';

const cfg = (s: string) => parseKconfig(s.split(/\s+/).filter(Boolean).map((x) => (x.includes('=') ? `CONFIG_${x}` : `CONFIG_${x}=y`)).join('\n'));
const DEB = '6.1.0-56-amd64 SMP preempt mod_unload modversions ';

test('parse: release up to the first space, then tokens', (t) => {
  const p = parseVermagic(DEB);
  t.is(p.release, '6.1.0-56-amd64');
  t.deepEqual(p.tokens, ['SMP', 'preempt', 'mod_unload', 'modversions']);
  t.deepEqual(kernelVersion('6.1.0-56-amd64'), [6, 1, 0]);
  t.deepEqual(kernelVersion('3.10'), [3, 10, 0]);
});

test('exact match', (t) => {
  t.true(sameMagic(DEB, DEB, true).match);
  t.true(sameMagic(DEB, DEB, false).match);
});

test('release-only difference: accepted with modversions on both sides, refused without', (t) => {
  const other = '6.1.0-55-amd64 SMP preempt mod_unload modversions ';
  const withCrcs = sameMagic(other, DEB, true);
  t.true(withCrcs.match);
  t.is(withCrcs.mode, 'after-release');
  const exact = sameMagic(other, DEB, false);
  t.false(exact.match);
  t.is(exact.mode, 'exact');
  t.deepEqual(exact.differences.map((d) => d.part), ['release']);
  t.is(exact.differences[0].module, '6.1.0-55-amd64');
  t.is(exact.differences[0].kernel, '6.1.0-56-amd64');
});

test('preempt mismatch names the token, even with modversions', (t) => {
  const r = sameMagic('6.1.0-56-amd64 SMP mod_unload modversions ', DEB, true);
  t.false(r.match);
  t.deepEqual(r.differences.map((d) => d.part), ['preempt']);
  t.is(r.differences[0].module, '');
  t.is(r.differences[0].kernel, 'preempt');
  const rt = sameMagic('6.1.0-56-amd64 SMP preempt_rt mod_unload modversions ', DEB, true);
  t.deepEqual(rt.differences.map((d) => [d.part, d.module, d.kernel]), [['preempt', 'preempt_rt', 'preempt']]);
});

test('missing modversions token', (t) => {
  const r = sameMagic('6.1.0-56-amd64 SMP preempt mod_unload ', DEB, false);
  t.false(r.match);
  t.deepEqual(r.differences.map((d) => d.part), ['modversions']);
});

test('spacing differences are reported as such', (t) => {
  const r = sameMagic('6.1.0-56-amd64 SMP preempt mod_unload modversions', DEB, true);
  t.false(r.match);
  t.deepEqual(r.differences.map((d) => d.part), ['whitespace']);
});

test('expected vermagic: Debian 6.1 amd64 config gives the samples\' vermagic', async (t) => {
  const { readKconfigFile } = await import('../../../lib/io/target.js');
  const c = await readKconfigFile('samples/target/6.1.0-56-amd64/config.xz');
  const e = expectedVermagic({ release: '6.1.0-56-amd64', config: c });
  t.is(e.vermagic, DEB);
  t.true(matchExpected(DEB, e, true).match);
});

test('expected vermagic per arch and era', (t) => {
  t.is(expectedVermagic({ release: '5.10.0-1-arm64', config: cfg('ARM64 SMP MODULE_UNLOAD MODVERSIONS') }).vermagic, '5.10.0-1-arm64 SMP mod_unload modversions aarch64');
  t.is(expectedVermagic({ release: '6.6.0', config: cfg('RISCV 64BIT SMP MODULE_UNLOAD') }).vermagic, '6.6.0 SMP mod_unload riscv');
  t.is(expectedVermagic({ release: '6.1.0-armmp', config: cfg('ARM SMP MODULE_UNLOAD MODVERSIONS CPU_32v6 CPU_32v7 ARM_PATCH_PHYS_VIRT') }).vermagic, '6.1.0-armmp SMP mod_unload modversions ARMv6 p2v8 ');
  t.is(expectedVermagic({ release: '3.4.35', config: cfg('ARM PREEMPT MODULE_UNLOAD CPU_32v7 ARM_PATCH_PHYS_VIRT THUMB2_KERNEL') }).vermagic, '3.4.35 preempt mod_unload ARMv7 thumb2 p2v8 ');
  t.is(expectedVermagic({ release: '6.1.0-686', config: cfg('X86 X86_32 SMP MODULE_UNLOAD MODVERSIONS M686') }).vermagic, '6.1.0-686 SMP mod_unload modversions 686 ');
  t.is(expectedVermagic({ release: '6.1.0-mips', config: cfg('MIPS 64BIT CPU_MIPS64_R2 SMP MODULE_UNLOAD MODVERSIONS') }).vermagic, '6.1.0-mips SMP mod_unload modversions MIPS64_R2 64BIT ');
  t.is(expectedVermagic({ release: '6.1.0-la', config: cfg('LOONGARCH 64BIT SMP MODULE_UNLOAD') }).vermagic, '6.1.0-la SMP mod_unload LOONGARCH 64BIT ');
  const ppc = expectedVermagic({ release: '6.1.0-ppc', config: cfg('PPC PPC64 SMP MODULE_UNLOAD MODVERSIONS MPROFILE_KERNEL RELOCATABLE') });
  t.is(ppc.vermagic, '6.1.0-ppc SMP mod_unload modversions mprofile-kernel relocatable ');
  t.true(ppc.alternatives.includes('6.1.0-ppc SMP mod_unload modversions mprofile-kernel '));
  t.is(expectedVermagic({ release: '6.1.0-s390x', config: cfg('S390 SMP MODULE_UNLOAD MODVERSIONS') }).vermagic, '6.1.0-s390x SMP mod_unload modversions ');
  // arch from the option when the config does not say
  t.is(expectedVermagic({ release: '6.1', config: cfg('SMP'), arch: parseArch('arm64') }).vermagic, '6.1 SMP aarch64');
});

test('preemption spellings: PREEMPT (≤5.15), PREEMPT_BUILD/dynamic (5.16+), PREEMPT_RT, RT patchsets', (t) => {
  t.is(expectedVermagic({ release: '4.19.0', config: cfg('X86 X86_64 SMP PREEMPT MODULE_UNLOAD') }).vermagic, '4.19.0 SMP preempt mod_unload ');
  t.is(expectedVermagic({ release: '6.1.0', config: cfg('X86 X86_64 SMP PREEMPT_VOLUNTARY PREEMPT_DYNAMIC PREEMPT_BUILD') }).vermagic, '6.1.0 SMP preempt ');
  t.is(expectedVermagic({ release: '5.10.0-rt', config: cfg('X86 X86_64 SMP PREEMPT_RT MODULE_UNLOAD') }).vermagic, '5.10.0-rt SMP preempt_rt mod_unload ');
  // 4.x -rt patchset: PREEMPT_RT_FULL selects PREEMPT → 'preempt'
  t.is(expectedVermagic({ release: '4.19.0-rt', config: cfg('X86 X86_64 SMP PREEMPT_RT_FULL PREEMPT_RT_BASE PREEMPT') }).vermagic, '4.19.0-rt SMP preempt ');
  // mainline RT with PREEMPT_BUILD: both spellings accepted
  const both = expectedVermagic({ release: '6.12.0-rt', config: cfg('X86 X86_64 SMP PREEMPT_RT PREEMPT_BUILD PREEMPT') });
  t.true(matchExpected('6.12.0-rt SMP preempt_rt ', both, false).match);
  t.true(matchExpected('6.12.0-rt SMP preempt ', both, false).match);
  t.false(matchExpected('6.12.0-rt SMP ', both, false).match);
});

test('RANDSTRUCT hash is matched by prefix; retpoline tag of 2018 kernels is accepted', (t) => {
  const e = expectedVermagic({ release: '6.1.0-hardened', config: cfg('X86 X86_64 SMP MODULE_UNLOAD RANDSTRUCT_FULL') });
  t.true(matchExpected('6.1.0-hardened SMP mod_unload RANDSTRUCT_abc123', e, false).match);
  const old = expectedVermagic({ release: '4.4.0-116-generic', config: cfg('X86 X86_64 SMP MODULE_UNLOAD MODVERSIONS RETPOLINE') });
  t.true(matchExpected('4.4.0-116-generic SMP mod_unload modversions retpoline ', old, true).match);
  t.true(matchExpected('4.4.0-116-generic SMP mod_unload modversions ', old, true).match);
});
