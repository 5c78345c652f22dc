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

declare const WORKER_SOURCE: string;
/** The worker's bundled code (inlined by web/build.mjs; referenced once so it is inlined once). */
const WORKER_CODE: string = WORKER_SOURCE;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const results = $<HTMLDivElement>('results');

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
}

const kib = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

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
  status.textContent = `${r.modules.length} module(s) read in ${ms} ms (${mode === 'worker' ? 'in a Web Worker' : 'on the main thread: no Web Worker could start here'}).`;
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

function table(caption: string, head: string[], rows: string[][], kind: string): HTMLElement {
  const id = `q-${kind}-${Math.random().toString(36).slice(2, 8)}`;
  const search = el('input', { type: 'search', id, 'aria-label': `Search ${caption.toLowerCase()}`, placeholder: 'Search…' });
  const tbody = el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c)))));
  const count = el('span', { class: 'count', 'aria-live': 'polite' }, `${rows.length}`);
  search.addEventListener('input', () => {
    const q = search.value.toLowerCase();
    let shown = 0;
    for (const tr of tbody.rows) {
      const hit = tr.textContent!.toLowerCase().includes(q);
      tr.hidden = !hit;
      if (hit) shown++;
    }
    count.textContent = `${shown} of ${rows.length}`;
  });
  return el('section', { class: `list ${kind}`, 'data-kind': kind },
    el('h3', {}, caption, ' ', count),
    rows.length > 8 ? search : '',
    rows.length ? el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))), tbody)) : el('p', {}, 'None.'));
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

interface CheckDoc { results: { module: { path?: string; name: string }; verdict: string; findings: { id: string; status: string; severity: string; message: string; hint?: string }[] }[] }

function verdictOf(check: CheckDoc | undefined, file: string): HTMLElement | '' {
  const r = check?.results.find((x) => x.module.path === file);
  if (!r) return '';
  const item = (f: CheckDoc['results'][number]['findings'][number]) => el('li', { class: `st-${f.status} sv-${f.severity}`, 'data-finding': f.id, 'data-status': f.status },
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

function moduleCard(v: ModuleView, check: CheckDoc | undefined): HTMLElement {
  const head = el('h2', {}, v.file);
  if (v.error) return el('article', { class: 'module bad-file', 'data-file': v.file }, head, el('p', { class: 'error', role: 'alert', 'data-error': '' }, v.error), verdictOf(check, v.file));
  const d = v.inspect!;
  const json = JSON.stringify(d, null, 2);
  const params = d.parameters?.params ?? [];
  const perm = (p: number) => '0' + p.toString(8);
  return el('article', { class: 'module', 'data-file': v.file },
    head,
    verdictOf(check, v.file),
    sectionMap(v),
    el('section', { class: 'modinfo' }, el('h3', {}, 'modinfo ', copyButton('Copy modinfo', () => v.modinfoText!)), el('pre', { 'data-modinfo': '', tabindex: '0', 'aria-label': 'modinfo output' }, v.modinfoText!)),
    table('Parameters', ['name', 'type', 'perm', 'description'], params.map((p) => [p.name, p.type + (p.elementType ? ` of ${p.elementType}` : ''), perm(p.perm), p.description ?? ''])
      .concat((d.parameters?.modinfoOnly ?? []).map((p) => [p.name, p.parmtype ?? '', '(no __param)', p.description ?? ''])), 'params'),
    table('Exports', ['symbol', 'CRC', 'license', 'namespace'], (d.exports ?? []).map((x) => [x.name, x.crc ?? '', x.gplOnly ? 'GPL' : '', x.namespace ?? '']), 'exports'),
    table('Imports', ['symbol', 'CRC', 'weak'], (d.imports ?? []).map((x) => [x.name, x.crc ?? '', x.weak ? 'weak' : '']), 'imports'),
    signature(v),
    el('details', { class: 'json' }, el('summary', {}, 'Inspect JSON (kmodkit inspect --json)'), copyButton('Copy JSON', () => json + '\n'), el('pre', { 'data-inspect': '', tabindex: '0' }, json)),
  );
}

function render(r: PageResult): void {
  const check = r.check as (CheckDoc & { summary: { modules: number; loads: number; fails: number } }) | undefined;
  const top: (Node | string)[] = [];
  for (const e of r.targetErrors) top.push(el('p', { class: 'error', role: 'alert', 'data-target-error': '' }, e));
  if (check) {
    top.push(el('section', { class: 'summary' }, el('h2', {}, 'Pre-flight check'),
      el('p', { 'data-summary': '' }, `${check.summary.modules} module(s): ${check.summary.loads} load, ${check.summary.fails} fail.`),
      copyButton('Copy check JSON', () => JSON.stringify(check, null, 2) + '\n'),
      el('details', {}, el('summary', {}, 'check --format json'), el('pre', { 'data-check': '', tabindex: '0' }, JSON.stringify(check, null, 2)))));
  }
  results.replaceChildren(...top, ...r.modules.map((m) => moduleCard(m, check)));
}

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
