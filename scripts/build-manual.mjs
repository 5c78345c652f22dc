// Writes the man pages and shell completion scripts the package ships, from
// the same option tables as --help (the compiled cli/registry.js and
// cli/format/{man,completion}.js; run after tsc):
//   dist/man/kmodkit.1, dist/man/kmodkit-COMMAND.1 or .8 (package.json "man")
//   dist/completions/kmodkit.bash, _kmodkit (zsh), kmodkit.fish
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const { COMMANDS, KMODKIT_HELP } = await import(new URL('cli/registry.js', dist).href);
const { commandManPage, mainManPage } = await import(new URL('cli/manual/man.js', dist).href);
const { completionScript, loadTables } = await import(new URL('cli/manual/completion.js', dist).href);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const tables = await loadTables(COMMANDS);
const pages = [mainManPage(COMMANDS, KMODKIT_HELP, version), ...tables.map(({ entry, help }) => commandManPage(entry, help, version))];
const man = new URL('man/', dist);
rmSync(man, { recursive: true, force: true });
mkdirSync(man, { recursive: true });
for (const p of pages) writeFileSync(new URL(`${p.name}.${p.section}`, man), p.text);

const completions = new URL('completions/', dist);
mkdirSync(completions, { recursive: true });
const input = { top: KMODKIT_HELP, commands: tables };
for (const [shell, file] of [['bash', 'kmodkit.bash'], ['zsh', '_kmodkit'], ['fish', 'kmodkit.fish']]) {
  writeFileSync(new URL(file, completions), completionScript(shell, input, version));
}
console.log(`build:manual: ${pages.length} man pages in dist/man, completions for bash, zsh and fish in dist/completions`);
