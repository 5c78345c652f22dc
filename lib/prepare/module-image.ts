/** Is a byte image a kernel module (an ELF relocatable with .modinfo)? Preparation refuses anything else. */
import { memorySource } from '../bytes/source.js';
import { readElf, section, type ElfFile } from '../elf/file.js';
import { KmodkitError } from '../errors.js';

/** The parsed ELF of a module image, or null when it is not one. */
export function moduleElf(image: Uint8Array): ElfFile | null {
  try {
    const elf = readElf(memorySource(image));
    return section(elf, '.modinfo') ? elf : null;
  } catch (e) {
    if (e instanceof KmodkitError) return null;
    throw e;
  }
}

export function isModuleImage(image: Uint8Array): boolean {
  return moduleElf(image) !== null;
}
