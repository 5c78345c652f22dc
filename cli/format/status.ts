/**
 * `kmodkit status` as text: the kernel's module policy first, then one
 * block per loaded module (what systemStatus() returns, nothing decided here).
 */
import type { SystemStatus } from '../../lib/io/status.js';
import type { ModuleStatusReport } from '../../lib/check/status.js';
import { escapeControls } from '../../lib/excerpt.js';

const yesNo = (b: boolean | null, unknown = 'unknown'): string => (b === null ? unknown : b ? 'yes' : 'no');

function row(label: string, value: string): string {
  return `  ${label.padEnd(13)} ${value}\n`;
}

function moduleBlock(m: ModuleStatusReport): string {
  let out = `${m.name}: ${m.state}, ${m.size} bytes, refcount ${m.refcount ?? 'unknown'}${m.taint.letters ? `, taint ${m.taint.letters}` : ''}\n`;
  out += row('file', `${m.file.drift}${m.file.path ? ` ${m.file.path}` : ''}`);
  if (m.file.drift !== 'same') out += row('', m.file.reason);
  out += row('srcversion', m.srcversion ?? '-');
  out += row('build-id', m.buildId ?? '-');
  out += row('used by', m.usedBy.length ? m.usedBy.join(', ') : '-');
  out += row('holders', m.holders === null ? 'unknown' : m.holders.length ? m.holders.join(', ') : '-');
  if (m.taint.flags.length) out += row('taints', m.taint.flags.map((f) => `${f.letter} ${f.flag}`).join(', '));
  const params = m.parameters.filter((p) => p.live !== undefined || p.configured !== undefined);
  for (const p of params) {
    const live = p.live ?? '(not readable)';
    const notes = [
      ...(p.configured !== undefined ? [`modprobe.d: ${p.configured}${p.differs ? ', differs' : ''}`] : []),
      ...(p.default !== undefined && p.default !== p.live ? [`default ${p.default}`] : []),
    ];
    out += row(p === params[0] ? 'parameters' : '', `${p.name}=${live}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  }
  if (m.trust) out += row('signature', `${m.trust.decision}: ${m.trust.reason}`);
  if (m.blacklisted) out += row('blacklisted', 'yes (modprobe.d)');
  if (m.owned !== null) out += row('kmodkit', m.owned ? 'loaded by the daemon whose record was given' : 'not in the ownership record');
  return out;
}

export function formatStatus(s: SystemStatus): string {
  const k = s.kernel;
  let out = `kernel ${k.release}\n`;
  out += row('tainted', k.tainted === null ? 'unknown' : k.tainted.mask === 0 ? 'no (0)' : `${k.tainted.mask}: ${k.tainted.flags.map((f) => `${f.letter} ${f.flag}`).join(', ')}`);
  out += row('sig_enforce', yesNo(k.sigEnforce, 'unknown (no module.sig_enforce parameter)'));
  out += row('lockdown', k.lockdown ?? 'unknown (no /sys/kernel/security/lockdown)');
  out += row('decompress', k.decompression ?? 'none (the kernel decompresses no module itself)');
  out += row('modules', k.modules ? 'supported' : 'not supported (no /proc/modules)');
  out += row('index', k.index.state === 'fresh' ? `fresh (${k.index.dir})` : `${k.index.state}: ${k.index.reason}`);
  if (s.ownership) out += row('record', `${s.ownership.path}: ${s.ownership.status}${s.ownership.reason ? ` (${s.ownership.reason})` : ''}`);
  for (const m of s.modules) out += '\n' + moduleBlock(m);
  for (const a of s.absent) out += `\n${a.name}: ${a.builtin ? 'built in' : 'not loaded'}${a.blacklisted ? ', blacklisted' : ''}\n`;
  if (s.missing.length) out += '\nnot known:\n' + s.missing.map((m) => `  ${m}\n`).join('');
  return escapeControls(out, true);
}
