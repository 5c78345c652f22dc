/**
 * Running a configured command (modprobe.d `install`/`remove`) the way kmod
 * does: through /bin/sh, with the caller's environment plus `env`, stdio
 * inherited. Only the modprobe command uses it; the library never runs
 * configured commands on its own.
 */
import { execSync } from 'node:child_process';

/** The command's exit status (0: success; a command that could not run or died by a signal: 1). */
export function runShellCommand(command: string, env: Readonly<Record<string, string>> = {}): number {
  try {
    execSync(command, { stdio: 'inherit', env: { ...process.env, ...env }, shell: '/bin/sh' });
    return 0;
  } catch (e) {
    return (e as { status?: number | null }).status || 1;
  }
}
