/**
 * ELF notes (Elf_Nhdr), used for the GNU build-id.
 */
import { bytesOf, decodeText, u32 } from '../bytes/reader.js';
import { NT_GNU_BUILD_ID } from './constants.js';

export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

const align4 = (n: number) => (n + 3) & ~3;

/** Notes of a SHT_NOTE section; stops quietly at the first malformed one. */
export function readNotes(data: Uint8Array, le: boolean): ElfNote[] {
  const b = bytesOf(data, le);
  const out: ElfNote[] = [];
  let o = 0;
  while (o + 12 <= data.length) {
    const namesz = u32(b, o);
    const descsz = u32(b, o + 4);
    const type = u32(b, o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + align4(namesz);
    const end = descStart + align4(descsz);
    if (namesz > data.length || descsz > data.length || descStart + descsz > data.length) break;
    let nameBytes = data.subarray(nameStart, nameStart + namesz);
    if (nameBytes.length && nameBytes[nameBytes.length - 1] === 0) nameBytes = nameBytes.subarray(0, -1);
    out.push({ name: decodeText(nameBytes), type, desc: data.subarray(descStart, descStart + descsz) });
    o = end;
  }
  return out;
}

export function findBuildId(notes: readonly ElfNote[]): Uint8Array | undefined {
  return notes.find((n) => n.type === NT_GNU_BUILD_ID && n.name === 'GNU')?.desc;
}
