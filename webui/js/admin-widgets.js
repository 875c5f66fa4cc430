// admin-widgets.js holds the pieces every console page is built from: the
// page heading, data tables that turn into cards on a phone, a copyable
// link, a status line and a pager.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { sentence } from './auth-card.js';

/** pageHead is a page's heading, its one-line purpose and its buttons. */
export function pageHead({ title, text, actions = [] }) {
  const id = uid('admin-h');
  const node = el('header', { class: 'admin-head' },
    el('div', { class: 'admin-head-text' },
      el('h2', { id, class: 'admin-title', tabindex: '-1' }, title),
      text ? el('p', { class: 'admin-lead' }, text) : null),
    actions.length ? el('div', { class: 'admin-head-actions' }, actions) : null);
  return { node, id, title: node.querySelector('h2') };
}

/** section is a titled block inside a page. Returns {node, body, heading}. */
export function section({ title, text, actions = [] }) {
  const id = uid('admin-s');
  const heading = el('h3', { id, class: 'admin-section-title' }, title);
  const body = el('div', { class: 'admin-section-body' });
  const node = el('section', { class: 'admin-section', 'aria-labelledby': id },
    el('div', { class: 'admin-section-head' },
      el('div', { class: 'admin-section-text' }, heading, text ? el('p', { class: 'admin-section-lead' }, text) : null),
      actions.length ? el('div', { class: 'admin-section-actions' }, actions) : null),
    body);
  return { node, body, heading };
}

/**
 * dataTable builds a table whose rows become labelled cards under 640 px.
 * columns: [{label, className?}]; rows: [{cells: [node|string], attrs?}].
 */
export function dataTable({ caption, columns, rows, empty = 'Nothing to show.' }) {
  if (!rows.length) return el('p', { class: 'admin-empty' }, empty);
  return el('div', { class: 'admin-table-wrap' },
    el('table', { class: 'admin-table' },
      caption ? el('caption', { class: 'visually-hidden' }, caption) : null,
      el('thead', null, el('tr', null, columns.map((c) => el('th', { scope: 'col', class: c.className }, c.label)))),
      el('tbody', null, rows.map((r) => el('tr', r.attrs || null, r.cells.map((cell, i) => el('td', {
        class: columns[i]?.className,
        dataset: { label: columns[i]?.label || '' },
      }, cell)))))));
}

/** statusLine is a polite live region for "Saved", "Copied" and errors. */
export function statusLine(className = '') {
  const node = el('p', { class: ['admin-status', className], role: 'status' });
  let timer = null;
  return {
    node,
    set(text, { kind = 'info', clearAfter = 0 } = {}) {
      clearTimeout(timer);
      node.textContent = text ? sentence(text) : '';
      node.dataset.kind = kind;
      if (clearAfter) timer = setTimeout(() => { node.textContent = ''; }, clearAfter);
    },
    clear() {
      clearTimeout(timer);
      node.textContent = '';
    },
  };
}

/** errorBox is an alert shown in place of a page or section that failed to load. */
export function errorBox(text, { onRetry } = {}) {
  const retry = onRetry ? el('button', { type: 'button', class: 'button button-secondary button-small', onclick: onRetry }, 'Try again') : null;
  return el('div', { class: 'admin-error', role: 'alert' }, icon('alert', { size: 16 }), el('span', null, sentence(text)), retry);
}

/** loading is the placeholder while a page loads. */
export function loading(text = 'Loading…') {
  return el('div', { class: 'admin-loading', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', null, text));
}

/** missingRoute says the server has no such route (an older server). */
export function missingRoute(err) {
  return err?.status === 404 && (err.code === 'no_route' || err.code === 'http_404') || err?.status === 405;
}

/** copyText puts text on the clipboard, with a fallback for browsers without the async API. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!input) return false;
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/**
 * copyField shows a link read-only with a Copy button. Returns {node, input}.
 */
export function copyField({ label, value, hint }) {
  const id = uid('copy');
  const input = el('input', { id, class: 'input admin-copy-input', type: 'text', readonly: true, value, spellcheck: 'false' });
  const status = statusLine('admin-copy-status');
  const button = el('button', { type: 'button', class: 'button button-secondary admin-copy-button' }, icon('link', { size: 16 }), 'Copy');
  button.addEventListener('click', async () => {
    const ok = await copyText(value, input);
    status.set(ok ? 'Copied to the clipboard' : 'Select the link and copy it', { kind: ok ? 'ok' : 'error', clearAfter: 4000 });
  });
  input.addEventListener('focus', () => input.select());
  const node = el('div', { class: 'field admin-copy' },
    el('label', { for: id, class: 'field-label' }, label),
    el('div', { class: 'admin-copy-row' }, input, button),
    hint ? el('p', { class: 'field-hint' }, hint) : null,
    status.node);
  return { node, input, button };
}

/**
 * pager is "1–50 of 120" with Previous and Next. onPage(offset) loads a page.
 * Returns {node, set(offset, count, total)}.
 */
export function pager({ limit, onPage, label = 'Pages' }) {
  const text = el('span', { class: 'admin-pager-text' });
  const prev = el('button', { type: 'button', class: 'button button-secondary button-small' }, 'Previous');
  const next = el('button', { type: 'button', class: 'button button-secondary button-small' }, 'Next');
  const node = el('nav', { class: 'admin-pager', 'aria-label': label }, text, prev, next);
  let at = 0;
  prev.addEventListener('click', () => onPage(Math.max(0, at - limit)));
  next.addEventListener('click', () => onPage(at + limit));
  return {
    node,
    set(offset, count, total) {
      at = offset;
      node.hidden = total <= limit && offset === 0;
      text.textContent = count ? `${offset + 1}–${offset + count} of ${total}` : `0 of ${total}`;
      prev.disabled = offset === 0;
      next.disabled = offset + count >= total;
    },
  };
}

/** selectField is a labelled <select>. options: [[value, label]]. Returns {wrap, input}. */
export function selectField({ label, name, options, value = '', hint }) {
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const input = el('select', { id, name, class: 'input select', 'aria-describedby': hintId },
    options.map(([v, text]) => el('option', { value: v, selected: v === value }, text)));
  const wrap = el('div', { class: 'field' },
    el('label', { for: id, class: 'field-label' }, label),
    input,
    hint ? el('p', { id: hintId, class: 'field-hint' }, hint) : null);
  return { wrap, input };
}
