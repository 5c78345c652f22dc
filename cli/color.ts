/**
 * Whether text output gets colour (ANSI SGR): `--color=always|never` decides;
 * with `auto` (the default) FORCE_COLOR, then NO_COLOR, then whether the
 * stream is a terminal (not TERM=dumb) decide. FORCE_COLOR and NO_COLOR
 * count when set and not empty (no-color.org, force-color.org);
 * FORCE_COLOR=0 or false asks for none, as Node's own tools read it.
 */
export type ColorChoice = 'auto' | 'always' | 'never';
export const COLOR_CHOICES: readonly ColorChoice[] = ['auto', 'always', 'never'];

export const isColorChoice = (s: string): s is ColorChoice => (COLOR_CHOICES as readonly string[]).includes(s);

export function useColor(choice: ColorChoice, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (choice !== 'auto') return choice === 'always';
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}
