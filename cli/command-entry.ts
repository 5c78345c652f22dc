/**
 * What the registry (cli/registry.ts) says of a command, as a type of its
 * own: the man page and completion generators (cli/manual/) read entries
 * without importing the registry, which imports every command.
 */
import type { CommandHelp } from './help.js';

/** What a command's non-option arguments are, for completion. */
export type ArgumentKind = 'files' | 'modules' | 'loaded' | 'kernel-release' | 'none' | 'shell';

export interface CommandEntry {
  name: string;
  /** One line: `kmodkit --help`'s list, the man page's NAME. */
  summary: string;
  /** The kmod tool it follows (its man page goes in section 8 and names kmod's). */
  kmod?: 'modinfo' | 'modprobe' | 'depmod' | 'insmod' | 'rmmod' | 'lsmod';
  /** Non-option arguments. */
  args: ArgumentKind;
  /** Environment variables it reads, and why. */
  environment?: [string, string][];
  help(): Promise<CommandHelp>;
}
