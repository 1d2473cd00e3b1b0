// Search: a block height, a transaction or block hash, an evidence digest, an account or
// validator address, an organisation's id or name — on every chain (GET /v1/search).

import { t, fmtNum } from '../i18n.js';
import { h, replace, link, card, pageHead, badge } from '../dom.js';
import { api } from '../api.js';
import { hrefs, chainTag } from '../components.js';

export function resultHref(r) {
  switch (r.kind) {
    case 'block': return hrefs.block(r.chain, r.height || r.id);
    case 'tx': return hrefs.tx(r.chain, r.id);
    case 'account': return hrefs.account(r.chain, r.id);
    case 'evidence': return hrefs.evidence(r.chain, r.id);
    case 'org': return hrefs.org(r.chain, r.id);
    case 'proposal': return hrefs.proposal(r.chain, r.id);
    case 'validator': return r.title ? hrefs.org(r.chain, r.title) : hrefs.orgs(r.chain);
    default: return '/';
  }
}

// resolveSearch returns where a search leads: the one thing found, else the results page.
export async function resolveSearch(q) {
  try {
    const res = await api.search(q, { timeout: 15000 });
    if (res.results.length === 1) return resultHref(res.results[0]);
  } catch {
    // the results page shows the error
  }
  return `/search?q=${encodeURIComponent(q)}`;
}

export async function searchPage(main, ctx) {
  const q = (ctx.query.get('q') || '').trim();
  ctx.setTitle(t('search'));
  if (!q) {
    replace(main, pageHead(t('search'), t('search_help')));
    return;
  }
  const res = await api.search(q, { signal: ctx.signal });
  if (res.results.length === 1 && !res.unavailable) {
    ctx.navigate(resultHref(res.results[0]), { replace: true });
    return;
  }
  const items = res.results.map((r) => h('li', { class: 'search-result' },
    badge(t(`kind_${r.kind}`, null, r.kind)), ' ', chainTag(r.chain), ' ',
    link(resultHref(r), r.kind === 'block' ? `#${fmtNum(r.height || r.id)}` : r.id),
    r.title ? h('span', { class: 'muted' }, ` · ${r.title}`) : null,
    r.height && r.kind !== 'block' ? h('span', { class: 'muted small' }, ` · ${t('at_height', { h: fmtNum(r.height) })}`) : null));
  replace(main,
    pageHead(t('search_results'), t('search_for', { q })),
    card(null, items.length ? h('ul', { class: 'search-results', id: 'search-results' }, items) : h('div', { class: 'empty' }, h('p', {}, t('search_nothing', { q })), h('p', { class: 'muted small' }, t('search_help')))),
    res.unavailable ? h('div', { class: 'alert alert-warn' }, t('search_unavailable', { chains: Object.keys(res.unavailable).join(', ') })) : null);
}
