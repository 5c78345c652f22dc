/**
 * Shell completion scripts for bash, zsh and fish, made from the same
 * tables as `--help` (cli/registry.ts, cli/help.ts): the command words,
 * every command's options (short and long), the values of options that have
 * a fixed set (--format, --kmod-compat, --color …), files or directories for
 * options whose argument names one (FILE, DIR, KEY, CERT, OUT, PATH), kernel
 * releases for REL/RELEASE/VERSION, and per command its arguments: files,
 * module names (modules.dep of the running kernel), loaded modules
 * (/proc/modules) or nothing. The bash script needs no bash-completion
 * package.
 */
import type { CommandHelp, OptionRow } from '../help.js';
import type { ArgumentKind, CommandEntry } from '../command-entry.js';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

export interface CompletionInput {
  /** kmodkit's own options (-h, -V). */
  top: CommandHelp;
  commands: readonly { entry: CommandEntry; help: CommandHelp }[];
}

/** What an option's argument is, for completion. */
export type ValueKind = { words: readonly string[] } | 'file' | 'dir' | 'release' | 'text';

export function valueKind(o: OptionRow): ValueKind | undefined {
  if (o.arg === undefined) return undefined;
  if (o.values) return { words: o.values };
  if (o.arg === 'DIR') return 'dir';
  if (/^(FILE|PATH|OUT|KEY CERT)$/.test(o.arg)) return 'file';
  if (/^(REL|RELEASE|VERSION)$/.test(o.arg)) return 'release';
  return 'text';
}

const header = (shell: Shell, version: string) =>
  `# ${shell} completion for kmodkit ${version}, generated from its option tables (kmodkit completion ${shell}).\n`;

/** A word list quoted for the shell (the words never hold a quote). */
const sq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

// --- bash -----------------------------------------------------------------------

function bashArgs(kind: ArgumentKind): string {
  switch (kind) {
    case 'files': return '_kmodkit_files "$cur"';
    case 'modules': return '_kmodkit_modules "$cur"';
    case 'loaded': return '_kmodkit_loaded "$cur"';
    case 'kernel-release': return '_kmodkit_releases "$cur"';
    case 'shell': return `COMPREPLY=($(compgen -W ${sq(SHELLS.join(' '))} -- "$cur"))`;
    case 'none': return ':';
  }
}

function bashValue(v: ValueKind): string {
  if (typeof v === 'object') return `COMPREPLY=($(compgen -W ${sq(v.words.join(' '))} -- "$cur"))`;
  if (v === 'file') return '_kmodkit_files "$cur"';
  if (v === 'dir') return '_kmodkit_dirs "$cur"';
  if (v === 'release') return '_kmodkit_releases "$cur"';
  return ':';
}

const optionWords = (help: CommandHelp) => help.options.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);

export function bashCompletion(input: CompletionInput, version: string): string {
  const names = input.commands.map((c) => c.entry.name);
  let s = header('bash', version);
  s += `# Install: kmodkit completion bash > \${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/kmodkit
# (or source it from ~/.bashrc). Needs no bash-completion package.

_kmodkit_files() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -f -- "$1"))
  compopt -o filenames 2>/dev/null
}
_kmodkit_dirs() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -d -- "$1"))
  compopt -o filenames 2>/dev/null
}
_kmodkit_releases() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(command ls -1 /lib/modules 2>/dev/null)" -- "$1"))
}
# Module names of the running kernel (modules.dep), and files.
_kmodkit_modules() {
  local dep=/lib/modules/$(uname -r)/modules.dep names=
  [[ $1 != */* && -r $dep ]] && names=$(sed -e 's/:.*//' -e 's,.*/,,' -e 's/\\.ko\\(\\.[a-z]*\\)\\{0,1\\}$//' "$dep")
  _kmodkit_files "$1"
  COMPREPLY+=($(compgen -W "$names" -- "$1"))
}
_kmodkit_loaded() {
  local name rest names=
  [[ -r /proc/modules ]] || return 0
  while read -r name rest; do names+=" $name"; done < /proc/modules
  COMPREPLY=($(compgen -W "$names" -- "$1"))
}

# The value of option $2 of command $1, completed from $cur; status 1 when $2 takes none.
_kmodkit_value() {
  case "$1 $2" in
`;
  for (const { entry, help } of input.commands) {
    for (const o of help.options) {
      const v = valueKind(o);
      if (!v) continue;
      const pats = [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])].map((p) => `"${entry.name} ${p}"`).join('|');
      s += `    ${pats}) ${bashValue(v)} ;;\n`;
    }
  }
  s += `    *) return 1 ;;
  esac
}

_kmodkit() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W ${sq([...names, 'help', ...optionWords(input.top)].join(' '))} -- "$cur"))
    return 0
  fi
  local cmd=\${COMP_WORDS[1]}
  if [[ $cmd == help ]]; then
    ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W ${sq(names.join(' '))} -- "$cur"))
    return 0
  fi
  # --option=value arrives as three words (COMP_WORDBREAKS holds '=')
  if [[ $cur == = ]]; then
    _kmodkit_value "$cmd" "$prev" && return 0
    cur=
  elif [[ $prev == = ]] && ((COMP_CWORD >= 3)); then
    _kmodkit_value "$cmd" "\${COMP_WORDS[COMP_CWORD-2]}" && return 0
  elif [[ $cur != -* ]]; then
    _kmodkit_value "$cmd" "$prev" && return 0
  fi
  if [[ $cur == -* ]]; then
    case $cmd in
`;
  for (const { entry, help } of input.commands) s += `      ${entry.name}) COMPREPLY=($(compgen -W ${sq(optionWords(help).join(' '))} -- "$cur")) ;;\n`;
  s += `    esac
    return 0
  fi
  case $cmd in
`;
  for (const { entry } of input.commands) s += `    ${entry.name}) ${bashArgs(entry.args)} ;;\n`;
  s += `  esac
  return 0
}
complete -F _kmodkit kmodkit
`;
  return s;
}

// --- zsh ------------------------------------------------------------------------

/** Text inside an _arguments '[description]'. */
const zshDescription = (s: string) => s.split('\n')[0].replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1').replace(/'/g, "'\\''");

function zshAction(v: ValueKind): string {
  if (typeof v === 'object') return `(${v.words.join(' ')})`;
  if (v === 'file') return '_files';
  if (v === 'dir') return '_files -/';
  if (v === 'release') return '_kmodkit_releases';
  return ' ';
}

function zshSpec(o: OptionRow): string {
  const repeat = /repeatable/.test(o.describe) ? '*' : '';
  const v = valueKind(o);
  const desc = `[${zshDescription(o.describe)}]`;
  const arg = v ? `:${zshDescription(o.arg!)}:${zshAction(v)}` : '';
  if (!o.short) return `'${repeat}--${o.long}${v ? '=' : ''}${desc}${arg}'`;
  const ex = repeat ? '' : `(-${o.short} --${o.long})`;
  return `'${repeat}${ex}'{-${o.short}${v ? '+' : ''},--${o.long}${v ? '=' : ''}}'${desc}${arg}'`;
}

function zshArgs(kind: ArgumentKind): string {
  switch (kind) {
    case 'files': return "'*:file:_files'";
    case 'modules': return "'*:module:_kmodkit_modules'";
    case 'loaded': return "'*:loaded module:_kmodkit_loaded'";
    case 'kernel-release': return "'*:kernel release or file:_kmodkit_releases'";
    case 'shell': return `'1:shell:(${SHELLS.join(' ')})'`;
    case 'none': return '';
  }
}

const zshFunction = (name: string) => `_kmodkit_${name.replace(/-/g, '_')}`;

export function zshCompletion(input: CompletionInput, version: string): string {
  let s = `#compdef kmodkit\n${header('zsh', version)}# Install: kmodkit completion zsh > "\${fpath[1]}/_kmodkit" (a directory in $fpath), then compinit.\n\n`;
  s += `_kmodkit_releases() {
  local -a rel
  rel=(/lib/modules/*(N:t))
  _describe -t releases 'kernel release' rel
}
_kmodkit_modules() {
  if [[ $PREFIX == */* ]]; then _files; return; fi
  local dep=/lib/modules/$(uname -r)/modules.dep
  local -a mods
  [[ -r $dep ]] && mods=(\${\${\${(f)"$(<$dep)"}%%:*}:t})
  mods=(\${mods%%.ko*})
  _describe -t modules 'module' mods
}
_kmodkit_loaded() {
  local -a mods
  [[ -r /proc/modules ]] && mods=(\${\${(f)"$(</proc/modules)"}%% *})
  _describe -t modules 'loaded module' mods
}
`;
  for (const { entry, help } of input.commands) {
    const args = zshArgs(entry.args);
    s += `${zshFunction(entry.name)}() {\n  _arguments -s -S \\\n${help.options.map((o) => `    ${zshSpec(o)}`).join(' \\\n')}${args ? ` \\\n    ${args}` : ''}\n}\n`;
  }
  s += `_kmodkit() {
  local curcontext=$curcontext state line
  local -a commands
  commands=(
${input.commands.map(({ entry }) => `    '${entry.name}:${zshDescription(entry.summary)}'`).join('\n')}
    'help:Show the help of a command'
  )
  _arguments -C \\
${input.top.options.map((o) => `    '(- *)'{-${o.short},--${o.long}}'[${zshDescription(o.describe)}]'`).join(' \\\n')} \\
    '1:command:->command' \\
    '*::argument:->argument'
  case $state in
    command) _describe -t commands 'kmodkit command' commands ;;
    argument)
      case $words[1] in
${input.commands.map(({ entry }) => `        ${entry.name}) ${zshFunction(entry.name)} ;;`).join('\n')}
        help) (( CURRENT == 2 )) && _describe -t commands 'kmodkit command' commands ;;
      esac ;;
  esac
}
if [[ $funcstack[1] == _kmodkit ]]; then _kmodkit "$@"; else compdef _kmodkit kmodkit; fi
`;
  return s;
}

// --- fish -----------------------------------------------------------------------

const fishQuote = (s: string) => `'${s.split('\n')[0].replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishValue(v: ValueKind): string {
  if (typeof v === 'object') return `-x -a ${fishQuote(v.words.join(' '))}`;
  if (v === 'file') return '-r -F';
  if (v === 'dir') return "-x -a '(__fish_complete_directories)'";
  if (v === 'release') return "-x -a '(path basename /lib/modules/*)'";
  return '-x';
}

function fishArgs(kind: ArgumentKind, cond: string): string {
  switch (kind) {
    case 'files': return `complete -c kmodkit -n ${cond} -F\n`;
    case 'modules': return `complete -c kmodkit -n ${cond} -F -a '(__kmodkit_modules)'\n`;
    case 'loaded': return `complete -c kmodkit -n ${cond} -f -a '(__kmodkit_loaded)'\n`;
    case 'kernel-release': return `complete -c kmodkit -n ${cond} -F -a '(path basename /lib/modules/*)'\n`;
    case 'shell': return `complete -c kmodkit -n ${cond} -f -a ${fishQuote(SHELLS.join(' '))}\n`;
    case 'none': return `complete -c kmodkit -n ${cond} -f\n`;
  }
}

export function fishCompletion(input: CompletionInput, version: string): string {
  const names = input.commands.map((c) => c.entry.name);
  let s = header('fish', version);
  s += `# Install: kmodkit completion fish > ~/.config/fish/completions/kmodkit.fish

function __kmodkit_modules
    set -l dep /lib/modules/(uname -r)/modules.dep
    test -r $dep; or return
    string replace -r ':.*' '' < $dep | string replace -r '.*/' '' | string replace -r '\\.ko(\\.[a-z]+)?$' ''
end
function __kmodkit_loaded
    test -r /proc/modules; and string replace -r ' .*' '' < /proc/modules
end

complete -c kmodkit -f
complete -c kmodkit -n __fish_use_subcommand -a help -d 'Show the help of a command'
complete -c kmodkit -n '__fish_seen_subcommand_from help' -a ${fishQuote(names.join(' '))}
`;
  for (const o of input.top.options) s += `complete -c kmodkit -n __fish_use_subcommand -s ${o.short} -l ${o.long} -d ${fishQuote(o.describe)}\n`;
  for (const { entry, help } of input.commands) {
    const cond = fishQuote(`__fish_seen_subcommand_from ${entry.name}`);
    s += `\n# ${entry.name}\ncomplete -c kmodkit -n __fish_use_subcommand -a ${entry.name} -d ${fishQuote(entry.summary)}\n`;
    for (const o of help.options) {
      const v = valueKind(o);
      s += `complete -c kmodkit -n ${cond}${o.short ? ` -s ${o.short}` : ''} -l ${o.long}${v ? ` ${fishValue(v)}` : ''} -d ${fishQuote(o.describe)}\n`;
    }
    s += fishArgs(entry.args, cond);
  }
  return s;
}

export function completionScript(shell: Shell, input: CompletionInput, version: string): string {
  return shell === 'bash' ? bashCompletion(input, version) : shell === 'zsh' ? zshCompletion(input, version) : fishCompletion(input, version);
}

/** Every command's table, loaded (completion scripts and man pages need them all). */
export async function loadTables(commands: readonly CommandEntry[]): Promise<{ entry: CommandEntry; help: CommandHelp }[]> {
  return Promise.all(commands.map(async (entry) => ({ entry, help: await entry.help() })));
}
