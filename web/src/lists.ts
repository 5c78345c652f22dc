/**
 * A table of many rows (a module's imports, exports, parameters): the first
 * FIRST_ROWS rows are in the page, "Show more" adds MORE_ROWS at a time, and
 * the search box looks through every row (what matches is shown the same
 * way). amdgpu.ko's 958 imports are 40 rows in the page until asked for,
 * not a 32,000-pixel list.
 */
import { el, uid } from './dom.js';

export const FIRST_ROWS = 40;
export const MORE_ROWS = 200;

export function longTable(caption: string, head: string[], rows: string[][], kind: string): HTMLElement {
  const texts = rows.map((r) => r.join('\u0000').toLowerCase());
  const count = el('span', { class: 'count', 'aria-live': 'polite' }, `${rows.length}`);
  const tbody = el('tbody');
  const more = el('button', { type: 'button', class: 'more' });
  const section = el('section', { class: `list ${kind}`, 'data-kind': kind, 'data-rows-total': String(rows.length) });
  let matches: number[] = rows.map((_, i) => i);
  let limit = FIRST_ROWS;
  let query = '';

  const draw = () => {
    const shown = matches.slice(0, limit);
    tbody.replaceChildren(...shown.map((i) => el('tr', {}, ...rows[i].map((c) => el('td', {}, c)))));
    section.dataset.rowsShown = String(shown.length);
    const what = query ? `${matches.length} of ${rows.length} match` : `${rows.length}`;
    count.textContent = shown.length < matches.length ? `${what}, ${shown.length} shown` : what;
    const left = matches.length - shown.length;
    more.hidden = left <= 0;
    more.textContent = left > MORE_ROWS ? `Show ${MORE_ROWS} more (${left} not shown)` : `Show the other ${left}`;
  };
  more.addEventListener('click', () => {
    limit += MORE_ROWS;
    draw();
  });

  let search: HTMLElement | '' = '';
  if (rows.length > 8) {
    const input = el('input', { type: 'search', id: uid(`q-${kind}`), 'aria-label': `Search ${caption.toLowerCase()}`, placeholder: 'Search…' });
    input.addEventListener('input', () => {
      query = input.value.toLowerCase();
      matches = [];
      for (let i = 0; i < rows.length; i++) if (texts[i].includes(query)) matches.push(i);
      limit = FIRST_ROWS;
      draw();
    });
    search = input;
  }
  draw();
  section.append(
    el('h3', {}, caption, ' ', count),
    search,
    rows.length
      ? el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))), tbody), more)
      : el('p', {}, 'None.'),
  );
  return section;
}
