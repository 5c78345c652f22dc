/**
 * The page: file picker and drop zone, then per module its modinfo, inspect
 * JSON, section map, parameters/exports/imports, signature, and with a
 * target the pre-flight verdict. Work happens in a Web Worker started from
 * a Blob URL (works on http:// and file://); if that fails, on this thread,
 * the same code loaded as a blob: script. Nothing is evaluated from a
 * string: the page's Content-Security-Policy (web/build.mjs) allows only
 * its own script by hash, blob: scripts and workers, and WebAssembly
 * ('wasm-unsafe-eval'), never 'unsafe-eval' or inline script.
 */
import type { ModuleView, PageResult, DroppedFile, SectionBox } from './analyse.js';
import { el, kib } from './dom.js';
import { longTable } from './lists.js';
import { anchorOf, overviewRows, overviewTable, summaryLine, type CheckDoc, type CheckResultDoc } from './overview.js';

declare const WORKER_SOURCE: string;
/** The worker's bundled code (inlined by web/build.mjs; referenced once so it is inlined once). */
const WORKER_CODE: string = WORKER_SOURCE;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const results = $<HTMLDivElement>('results');

// --- running the analysis -----------------------------------------------------

type Run = (files: DroppedFile[], release: string) => Promise<PageResult>;

function startWorker(): Run | null {
  try {
    const url = URL.createObjectURL(new Blob([WORKER_CODE], { type: 'text/javascript' }));
    const w = new Worker(url);
    let next = 0;
    const waiting = new Map<number, { ok: (r: PageResult) => void; fail: (e: Error) => void }>();
    w.onmessage = (e: MessageEvent<{ id: number; result?: PageResult; error?: string }>) => {
      const p = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      if (e.data.result) p?.ok(e.data.result);
      else p?.fail(new Error(e.data.error));
    };
    w.onerror = (e) => {
      for (const p of waiting.values()) p.fail(new Error(e.message || 'worker failed'));
      waiting.clear();
    };
    return (files, release) =>
      new Promise((ok, fail) => {
        const id = next++;
        waiting.set(id, { ok, fail });
        w.postMessage({ id, files, release }, files.map((f) => f.bytes.buffer as ArrayBuffer));
      });
  } catch {
    return null;
  }
}

let mode = 'worker';
let run: Run = startWorker() ?? (mode = 'main', mainThread);

/** The worker's code run on this thread: loaded once as a blob: script that hands its onmessage over. */
let inline: Promise<(e: { data: unknown }) => Promise<void>> | undefined;
function inlineHandler(): Promise<(e: { data: unknown }) => Promise<void>> {
  return (inline ??= new Promise((ok, fail) => {
    const self: { onmessage?: (e: { data: unknown }) => Promise<void>; postMessage?: (m: unknown) => void } = {};
    const slot = globalThis as unknown as { kmodkitWorkerSelf?: typeof self };
    slot.kmodkitWorkerSelf = self;
    const url = URL.createObjectURL(new Blob([`(function(self){${WORKER_CODE}\n})(globalThis.kmodkitWorkerSelf);`], { type: 'text/javascript' }));
    const s = document.createElement('script');
    s.src = url;
    s.onload = () => (self.onmessage ? ok(self.onmessage) : fail(new Error('the analysis code did not start')));
    s.onerror = () => fail(new Error('the analysis code could not be loaded'));
    document.head.append(s);
  }));
}

async function mainThread(files: DroppedFile[], release: string): Promise<PageResult> {
  // Same code as the worker, on this thread (a note says so on the page).
  const handler = await inlineHandler();
  const self = (globalThis as unknown as { kmodkitWorkerSelf: { postMessage?: (m: unknown) => void } }).kmodkitWorkerSelf;
  let reply: { result?: PageResult; error?: string } = {};
  self.postMessage = (m) => { reply = m as typeof reply; };
  await handler({ data: { id: 0, files, release } });
  if (reply.error) throw new Error(reply.error);
  return reply.result!;
}

/** Every file given so far (dropping adds; Clear empties). */
let current: DroppedFile[] = [];
/** The release the shown results were computed with. */
let lastRelease = '';

async function addFiles(list: FileList | File[]): Promise<void> {
  const added = await Promise.all([...list].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  current = [...current.filter((c) => !added.some((a) => a.name === c.name)), ...added];
  await refresh();
}

async function refresh(): Promise<void> {
  if (current.length === 0) {
    results.replaceChildren();
    status.textContent = 'No files yet.';
    return;
  }
  status.textContent = `Reading ${current.length} file(s)…`;
  document.body.dataset.state = 'busy';
  const t0 = performance.now();
  // Each run gets copies: the worker takes ownership of what it is sent.
  const copies = current.map((f) => ({ name: f.name, bytes: f.bytes.slice() }));
  let r: PageResult;
  lastRelease = ($('release') as HTMLInputElement).value.trim();
  try {
    r = await run(copies, lastRelease);
  } catch (e) {
    if (mode === 'worker') {
      mode = 'main';
      run = mainThread;
      return refresh();
    }
    status.textContent = (e as Error).message;
    document.body.dataset.state = 'done';
    return;
  }
  render(r);
  const ms = Math.round(performance.now() - t0);
  const others = r.modules.filter((m) => m.error).length;
  const modules = r.modules.length - others;
  status.textContent = `${modules} module${modules === 1 ? '' : 's'} read in ${ms} ms (${mode === 'worker' ? 'in a Web Worker' : 'on the main thread: no Web Worker could start here'})` +
    (others ? `; ${others} file${others === 1 ? ' is' : 's are'} not a module.` : '.');
  document.body.dataset.state = 'done';
  document.body.dataset.mode = mode;
}

// --- rendering ------------------------------------------------------------------

function copyButton(label: string, text: () => string): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'copy' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Copy failed (select the text instead)';
    }
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}

/** A details element whose body is made when it is first opened (many modules stay cheap until looked at). */
function lazyDetails(attrs: Record<string, string>, summary: HTMLElement, body: () => (Node | string)[], open = false): HTMLDetailsElement {
  const d = el('details', attrs, summary);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    d.append(...body());
  };
  d.addEventListener('toggle', () => { if (d.open) build(); });
  if (open) {
    build();
    d.open = true;
  }
  return d;
}

const SHF = [[1, 'W'], [2, 'A'], [4, 'X'], [0x10, 'M'], [0x20, 'S'], [0x40, 'I'], [0x200, 'G']] as const;
const SHT: Record<number, string> = { 1: 'PROGBITS', 2: 'SYMTAB', 3: 'STRTAB', 4: 'RELA', 7: 'NOTE', 9: 'REL', 14: 'INIT_ARRAY', 15: 'FINI_ARRAY', 17: 'GROUP', 18: 'SYMTAB_SHNDX' };
const flagText = (f: number) => SHF.filter(([b]) => f & b).map(([, c]) => c).join('') || '-';
const typeText = (t: number) => SHT[t] ?? `0x${t.toString(16)}`;

function kindOf(s: SectionBox): string {
  if (s.name.startsWith('.debug')) return 'debug';
  if (s.name === '.BTF' || s.name.startsWith('.BTF')) return 'btf';
  if (s.type === 4 || s.type === 9) return 'reloc';
  if (s.type === 2 || s.type === 3) return 'symtab';
  if (s.flags & 4) return 'text';
  if (s.flags & 2) return 'data';
  return 'other';
}

function sectionMap(v: ModuleView): HTMLElement {
  const d = v.inspect!;
  const total = d.compression.imageSize;
  const info = el('p', { class: 'mapinfo', 'aria-live': 'polite' }, 'Hover or focus a section for its details.');
  const boxes: HTMLElement[] = [];
  const describe = (name: string, type: string, size: number, flags: string) => `${name}: ${type}, ${size} bytes (${((100 * size) / total).toFixed(1)} %), flags ${flags}`;
  const add = (name: string, kind: string, type: string, size: number, flags: string) => {
    const text = describe(name, type, size, flags);
    const b = el('span', { class: `sec k-${kind}`, tabindex: boxes.length === 0 ? '0' : '-1', role: 'listitem', 'aria-label': text, title: text, 'data-section': name }, size / total > 0.06 ? name : '');
    b.style.flexGrow = String(size);
    const show = () => { info.textContent = text; };
    b.addEventListener('mouseenter', show);
    b.addEventListener('focus', show);
    boxes.push(b);
  };
  for (const s of v.sections!) add(s.name, kindOf(s), typeText(s.type), s.size, flagText(s.flags));
  if (v.trailer) add(d.signature?.signed ? 'signature trailer' : 'trailing bytes', 'sig', 'appended', v.trailer, '-');
  const cmp = d.compression.format === 'none' ? el('p', {}, `Not compressed: ${kib(total)}.`) : (() => {
    const bar = el('div', { class: 'ratio', role: 'img', 'aria-label': `${d.compression.format}: ${d.compression.storedSize} bytes stored, ${total} bytes decompressed` },
      el('span', { class: 'stored' }, ''));
    (bar.firstChild as HTMLElement).style.width = `${Math.max(1, (100 * d.compression.storedSize) / total)}%`;
    return el('div', {}, el('p', {}, `${d.compression.format}: ${kib(d.compression.storedSize)} stored, ${kib(total)} decompressed (${((100 * d.compression.storedSize) / total).toFixed(0)} %).`), bar);
  })();
  const legend = el('p', { class: 'legend' }, ...['text', 'data', 'reloc', 'symtab', 'debug', 'btf', 'sig', 'other'].map((k) => el('span', { class: `key k-${k}` }, k)));
  // One tab stop for the whole map; arrow keys (Home/End) move between sections.
  const bar = el('div', { class: 'bar', role: 'list', 'aria-label': 'Sections in file order, sized by bytes (arrow keys move between them)' }, ...boxes);
  bar.addEventListener('keydown', (e) => {
    const i = boxes.indexOf(document.activeElement as HTMLElement);
    const to = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? boxes.length - 1 : null;
    if (to === null || i < 0) return;
    e.preventDefault();
    const next = boxes[Math.max(0, Math.min(boxes.length - 1, to))];
    boxes[i].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  return el('section', { class: 'map' }, el('h3', {}, 'Where the bytes go'), cmp, bar, info, legend);
}

function signature(v: ModuleView): HTMLElement {
  const s = v.inspect!.signature;
  const body: (Node | string)[] = [];
  if (!s || !s.signed) body.push(el('p', { 'data-sig': 'unsigned' }, 'Not signed.'));
  else {
    const rows: [string, string | undefined][] = [['signer', s.signer], ['key id', s.keyId], ['hash', s.hashAlgorithm], ['algorithm', s.signatureAlgorithm ?? s.idType], ['format', s.idType]];
    body.push(el('dl', {}, ...rows.flatMap(([k, val]) => (val ? [el('dt', {}, k), el('dd', { 'data-sig': k }, val)] : []))));
    if (v.verify) body.push(el('p', { class: v.verify.verified ? 'good' : 'bad', 'data-verify': String(v.verify.verified) }, v.verify.verified ? `Verifies with ${v.verify.certificate?.subject ?? 'a dropped certificate'}.` : `Does not verify: ${v.verify.reason}.`));
    else body.push(el('p', {}, 'Drop the signing certificate (.pem/.der) to verify it.'));
  }
  return el('section', { class: 'sig' }, el('h3', {}, 'Signature'), ...body);
}

type FindingDoc = NonNullable<CheckResultDoc['findings']>[number];

function verdictOf(r: CheckResultDoc | undefined): HTMLElement | '' {
  if (!r?.findings || !r.verdict) return '';
  const item = (f: FindingDoc) => el('li', { class: `st-${f.status} sv-${f.severity}`, 'data-finding': f.id, 'data-status': f.status },
    el('span', { class: 'badge' }, f.status === 'failed' ? f.severity : f.status), ' ', el('code', {}, f.id), ' ', el('span', {}, f.message),
    f.hint ? el('div', { class: 'hint' }, `Hint: ${f.hint}`) : '');
  const bad = r.findings.filter((f) => f.status === 'failed');
  const rest = r.findings.filter((f) => f.status !== 'failed');
  const passed = rest.filter((f) => f.status === 'passed').length;
  return el('section', { class: `verdict v-${r.verdict}` },
    el('h3', {}, 'Would it load? ', el('strong', { 'data-verdict': r.verdict }, r.verdict), bad.length ? ` (${bad.length} finding${bad.length > 1 ? 's' : ''})` : ''),
    bad.length ? el('ul', { class: 'findings' }, ...bad.map(item)) : '',
    el('details', {}, el('summary', {}, `${passed} passed, ${rest.length - passed} skipped`), el('ul', { class: 'findings' }, ...rest.map(item))));
}

/** With more files than this, each module's section starts closed (the summary table links open them). */
const OPEN_UP_TO = 8;

/** What a closed section still says: the verdict, or the counts. */
function headline(v: ModuleView, r: CheckResultDoc | undefined): HTMLElement {
  const d = v.inspect!;
  const failed = r?.findings?.filter((f) => f.status === 'failed' && f.severity === 'error').length ?? 0;
  const parts = r?.verdict ? [r.verdict + (failed ? ` (${failed} error${failed > 1 ? 's' : ''})` : '')] : [];
  parts.push(`${d.imports?.length ?? 0} imports`, `${d.exports?.length ?? 0} exports`, kib(d.compression.storedSize));
  return el('span', { class: `headline${r?.verdict ? ` v-${r.verdict}` : ''}` }, parts.join(' · '));
}

function moduleBody(v: ModuleView, r: CheckResultDoc | undefined): (Node | string)[] {
  const d = v.inspect!;
  const params = d.parameters?.params ?? [];
  const perm = (p: number) => '0' + p.toString(8);
  const jsonPre = el('pre', { 'data-inspect': '', tabindex: '0' });
  return [
    verdictOf(r),
    sectionMap(v),
    el('section', { class: 'modinfo' }, el('h3', {}, 'modinfo ', copyButton('Copy modinfo', () => v.modinfoText!)), el('pre', { 'data-modinfo': '', tabindex: '0', 'aria-label': 'modinfo output' }, v.modinfoText!)),
    longTable('Parameters', ['name', 'type', 'perm', 'description'], params.map((p) => [p.name, p.type + (p.elementType ? ` of ${p.elementType}` : ''), perm(p.perm), p.description ?? ''])
      .concat((d.parameters?.modinfoOnly ?? []).map((p) => [p.name, p.parmtype ?? '', '(no __param)', p.description ?? ''])), 'params'),
    longTable('Exports', ['symbol', 'CRC', 'license', 'namespace'], (d.exports ?? []).map((x) => [x.name, x.crc ?? '', x.gplOnly ? 'GPL' : '', x.namespace ?? '']), 'exports'),
    longTable('Imports', ['symbol', 'CRC', 'weak'], (d.imports ?? []).map((x) => [x.name, x.crc ?? '', x.weak ? 'weak' : '']), 'imports'),
    signature(v),
    lazyDetails({ class: 'json' }, el('summary', {}, 'Inspect JSON (kmodkit inspect --json)'), () => {
      const json = JSON.stringify(d, null, 2);
      jsonPre.textContent = json;
      return [copyButton('Copy JSON', () => json + '\n'), jsonPre];
    }),
  ];
}

function moduleCard(v: ModuleView, r: CheckResultDoc | undefined, index: number, open: boolean): HTMLElement {
  const attrs = { class: 'module', id: anchorOf(index), 'data-file': v.file };
  if (v.error) {
    return el('article', { ...attrs, class: 'module bad-file' }, el('h2', {}, v.file),
      el('p', { class: 'error', role: 'alert', 'data-error': '' }, v.error), verdictOf(r));
  }
  const summary = el('summary', {}, el('h2', {}, v.file), headline(v, r));
  return el('article', attrs, lazyDetails({ class: 'module-body' }, summary, () => moduleBody(v, r), open));
}

/** Open the module section `id` (a link to it was followed) and put the keyboard there. */
function reveal(id: string, focus: boolean): void {
  const a = document.getElementById(id);
  if (!a?.classList.contains('module')) return;
  const d = a.querySelector('details');
  if (d && !d.open) d.open = true;
  if (focus) a.querySelector<HTMLElement>(':scope > details > summary')?.focus({ preventScroll: true });
}

function render(r: PageResult): void {
  const check = r.check as CheckDoc | undefined;
  const byFile = new Map((check?.results ?? []).flatMap((x) => (x.module?.path !== undefined ? [[x.module.path, x] as const] : [])));
  const rows = overviewRows(r.modules, byFile);
  const top: (Node | string)[] = [];
  for (const e of r.targetErrors) top.push(el('p', { class: 'error', role: 'alert', 'data-target-error': '' }, e));
  if (check || r.modules.length > 1) {
    top.push(el('section', { class: 'summary', 'aria-label': 'Summary' }, el('h2', {}, check ? 'Pre-flight check' : 'Files'),
      summaryLine(rows, check !== undefined),
      r.modules.length > 1 ? overviewTable(rows, check !== undefined) : '',
      check ? copyButton('Copy check JSON', () => JSON.stringify(check, null, 2) + '\n') : '',
      check ? lazyDetails({}, el('summary', {}, 'check --format json'), () => [el('pre', { 'data-check': '', tabindex: '0' }, JSON.stringify(check, null, 2))]) : ''));
  }
  const open = r.modules.length <= OPEN_UP_TO;
  results.replaceChildren(...top, ...r.modules.map((m, i) => moduleCard(m, byFile.get(m.file), i, open)));
  if (location.hash) reveal(location.hash.slice(1), false);
}

// Following a link to a module (the summary's, or the address's #m-N) opens its section.
results.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href^="#m-"]') : null;
  if (!a) return;
  const id = a.getAttribute('href')!.slice(1);
  reveal(id, false);
  // the browser scrolls to it (and resets the focus) first; then the keyboard goes to its heading
  setTimeout(() => reveal(id, true), 0);
});
window.addEventListener('hashchange', () => reveal(location.hash.slice(1), false));

// --- input ------------------------------------------------------------------------

const input = $<HTMLInputElement>('files');
input.addEventListener('change', () => {
  if (input.files?.length) void addFiles(input.files);
  input.value = '';
});
const zone = $<HTMLElement>('drop');
zone.addEventListener('submit', (e) => e.preventDefault());
zone.addEventListener('dragover', (e) => {
  e.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  if (e.dataTransfer?.files.length) void addFiles(e.dataTransfer.files);
});
// Dropping anywhere on the page counts; the browser must not open the file instead.
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  if (e.target instanceof Node && zone.contains(e.target)) return;
  e.preventDefault();
  if (e.dataTransfer?.files.length) void addFiles(e.dataTransfer.files);
});
$('clear').addEventListener('click', () => {
  current = [];
  void refresh();
});
$('release').addEventListener('change', () => {
  // Only a different release is worth a new run (change also fires on a mere blur after typing).
  if (($('release') as HTMLInputElement).value.trim() !== lastRelease) void refresh();
});
status.textContent = 'No files yet.';
