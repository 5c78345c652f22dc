/**
 * getopt_long-style scanning of the raw argument list, for the few things
 * a generic parser cannot tell us: which of several options came last (kmod's modinfo
 * lets the last of -a/-d/-l/-p/-n/-F win) and getopt's exact messages for
 * unknown options.
 */

export interface OptSpec {
  /** short letter -> long name */
  short: Record<string, string>;
  /** long name -> takes an argument */
  long: Record<string, boolean>;
}

export interface ScannedOpt {
  name: string; // long name
  value?: string;
  /** The letter, when the option was given in its short form (kmod's messages name what was typed). */
  short?: string;
}

export interface ScanResult {
  opts: ScannedOpt[];
  positionals: string[];
  /** getopt's complaint for the first bad option, if any */
  error?: string;
}

export function scanArgs(args: readonly string[], spec: OptSpec, prog: string): ScanResult {
  const opts: ScannedOpt[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const given = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const names = Object.keys(spec.long).filter((n) => n === given || n.startsWith(given));
      const exact = names.find((n) => n === given);
      const name = exact ?? (names.length === 1 ? names[0] : undefined);
      if (!name) {
        return {
          opts,
          positionals,
          error: names.length > 1
            ? `${prog}: option '${a}' is ambiguous; possibilities:${names.map((n) => ` '--${n}'`).join('')}`
            : `${prog}: unrecognized option '${a}'`,
        };
      }
      if (spec.long[name]) {
        let value: string | undefined = eq >= 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) return { opts, positionals, error: `${prog}: option '--${name}' requires an argument` };
        opts.push({ name, value });
      } else {
        if (eq >= 0) return { opts, positionals, error: `${prog}: option '--${name}' doesn't allow an argument` };
        opts.push({ name });
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const name = spec.short[c];
        if (!name) return { opts, positionals, error: `${prog}: invalid option -- '${c}'` };
        if (spec.long[name]) {
          let value: string | undefined = a.slice(j + 1);
          if (value === '') value = args[++i];
          if (value === undefined) return { opts, positionals, error: `${prog}: option requires an argument -- '${c}'` };
          opts.push({ name, value, short: c });
          break;
        }
        opts.push({ name, short: c });
      }
      continue;
    }
    positionals.push(a);
  }
  return { opts, positionals };
}
