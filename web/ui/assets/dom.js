// DOM helpers. Everything the network sends is put in the page as text (never as HTML).

import { t, fmtTime, fmtAgo } from './i18n.js';

// h builds an element: h('a', {href: '/x', class: 'c', onclick: fn}, 'text', child, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// replace puts children in place of el's content.
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// link is an in-app link: the router handles the click.
export function link(href, ...children) {
  return h('a', { href, 'data-link': true }, ...children);
}

export function shortHash(s, head = 8, tail = 6) {
  if (!s) return '';
  return s.length <= head + tail + 1 ? s : `${s.slice(0, head)}…${s.slice(-tail)}`;
}

const SVG = 'http://www.w3.org/2000/svg';

// icon draws one of the explorer's few icons (SVG paths on a 24-unit grid).
export function icon(name) {
  const paths = {
    copy: ['M9 9h10v10H9z', 'M5 15V5h10'],
    check: ['M5 12l5 5 9-10'],
    cross: ['M6 6l12 12', 'M18 6L6 18'],
  }[name] || [];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of paths) {
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

// copyButton copies text to the clipboard.
export function copyButton(text) {
  const b = h('button', { type: 'button', class: 'copy', title: t('copy'), 'aria-label': t('copy') }, icon('copy'));
  b.addEventListener('click', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    let ok = true;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      ok = false;
    }
    replace(b, icon(ok ? 'check' : 'cross'));
    setTimeout(() => replace(b, icon('copy')), 1200);
  });
  return b;
}

// mono shows a hash, digest or address: shortened unless full, with its whole value as
// the title, a link if href is given, and a copy button.
export function mono(value, { href, full = false, copy = true, head, tail } = {}) {
  if (!value) return h('span', { class: 'muted' }, '—');
  const text = full ? value : shortHash(value, head, tail);
  const inner = href ? link(href, text) : h('span', {}, text);
  inner.setAttribute('title', value);
  return h('span', { class: ['mono', full && 'break'] }, inner, copy ? copyButton(value) : null);
}

export function badge(text, kind = '') {
  return h('span', { class: ['badge', kind && `badge-${kind}`] }, text);
}

// time shows a timestamp: relative, with the absolute time as the title (or the reverse).
export function timeEl(iso, { absolute = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const el = h('time', { datetime: d.toISOString(), title: d.toISOString() }, absolute ? fmtTime(d) : fmtAgo(d));
  if (!absolute) el.dataset.ago = d.toISOString();
  return el;
}

// refreshAgo updates the relative times under root.
export function refreshAgo(root = document) {
  for (const el of root.querySelectorAll('time[data-ago]')) el.textContent = fmtAgo(new Date(el.dataset.ago));
}

// kv is a list of label/value rows; a row whose value is null or undefined is left out.
export function kv(rows, cls = '') {
  const dl = h('dl', { class: ['kv', cls] });
  for (const [label, value, opts] of rows) {
    if (value === undefined || value === null) continue;
    dl.append(h('div', { class: ['kv-row', opts?.cls] }, h('dt', {}, label), h('dd', { 'data-field': opts?.field }, value)));
  }
  return dl;
}

// table builds a table; columns are {label, cls}; rows are arrays of cells (nodes or text).
// On narrow screens each row becomes a card with the labels beside the values.
export function table(columns, rows, { empty = t('nothing_yet'), id, cls, compact = false } = {}) {
  const thead = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.cls }, c.label))));
  const tbody = h('tbody');
  for (const r of rows) tbody.append(row(columns, r));
  const tbl = h('table', { class: ['table', cls, compact && 'compact'], id }, thead, tbody);
  const wrap = h('div', { class: 'table-wrap' }, tbl);
  if (!rows.length) wrap.append(h('p', { class: 'empty' }, empty));
  return wrap;
}

export function row(columns, cells, attrs = {}) {
  return h('tr', attrs, cells.map((c, i) => h('td', { class: columns[i]?.cls, 'data-label': columns[i]?.label }, c)));
}

export function card(title, body, { actions, id, cls } = {}) {
  return h('section', { class: ['card', cls], id },
    title ? h('div', { class: 'card-head' }, h('h2', {}, title), actions ? h('div', { class: 'card-actions' }, actions) : null) : null,
    h('div', { class: 'card-body' }, body));
}

export function spinner(text = t('loading')) {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), text);
}

// errorBox explains a failed request.
export function errorBox(err, { retry } = {}) {
  const code = err?.code ? ` (${err.code})` : '';
  let hint = null;
  if (err?.status === 401 || err?.status === 403) hint = t('err_forbidden_hint');
  else if (err?.status === 503) hint = t('err_unavailable_hint');
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, t('error') + code + ': '), err?.message || String(err),
    hint ? h('div', { class: 'muted small' }, hint) : null,
    retry ? h('div', {}, h('button', { type: 'button', class: 'btn btn-small', onclick: retry }, t('retry'))) : null);
}

export function notFound(what) {
  return h('div', { class: 'card notfound' }, h('h1', {}, t('not_found_title')), h('p', {}, what));
}

// section is a titled part of a page.
export function pageHead(title, sub, ...extra) {
  return h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, title), sub ? h('p', { class: 'sub' }, sub) : null), extra.length ? h('div', { class: 'page-head-extra' }, extra) : null);
}

export function pill(text, kind) {
  return h('span', { class: ['pill', `pill-${kind}`] }, h('span', { class: 'dot', 'aria-hidden': 'true' }), text);
}

export function pretty(value) {
  let text = value;
  if (typeof value !== 'string') text = JSON.stringify(value, null, 2);
  return h('pre', { class: 'code' }, text);
}
