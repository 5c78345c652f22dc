/**
 * The kernel's own symbols for depmod -E (Module.symvers) and -F (System.map),
 * parsed from text as kmod 30 does.
 */
import { crcOf, type DepmodSymbol } from './depmod.js';

/** Module.symvers: "CRC\tNAME\tvmlinux\t…" lines; only vmlinux entries count. */
export function parseSymversForDepmod(text: string, filename: string, prefix: string, messages: string[]): DepmodSymbol[] {
  const out: DepmodSymbol[] = [];
  const lines = text.split(/(?<=\n)/);
  lines.forEach((line, i) => {
    const f = line.split(/[ \t]+/).filter((t) => t !== '');
    if (f.length < 3 || f[2] !== 'vmlinux') return;
    const ver = f[0];
    const m = /^\s*[+-]?(0[xX])?([0-9a-fA-F]*)/.exec(ver)!;
    if (m[0].length !== ver.length || !m[2]) {
      messages.push(`depmod: ERROR: ${filename}:${i + 1} Invalid symbol version ${ver}: Success`);
      return;
    }
    let name = f[1];
    if (prefix && name[0] === prefix) name = name.slice(1);
    out.push({ name, crc: crcOf(BigInt('0x' + m[2]) & 0xffffffffffffffffn) });
  });
  return out;
}

/** System.map: "ADDR TYPE __ksymtab_NAME" lines. */
export function parseSystemMapForDepmod(text: string, filename: string, prefix: string, messages: string[]): DepmodSymbol[] {
  const out: DepmodSymbol[] = [];
  const lines = text.split(/(?<=\n)/);
  lines.forEach((line, i) => {
    const a = line.indexOf(' ');
    const b = a < 0 ? -1 : line.indexOf(' ', a + 1);
    if (b < 0) { messages.push(`depmod: ERROR: ${filename}:${i + 1}: invalid line: ${line}`); return; }
    let p = line.slice(b + 1);
    if (prefix && p[0] === prefix) p = p.slice(1);
    if (!p.startsWith('__ksymtab_')) return;
    const nl = p.indexOf('\n');
    out.push({ name: (nl >= 0 ? p.slice(0, nl) : p).slice(10), crc: 0 });
  });
  return out;
}
