// Parts shared by the pages.

import { t, fmtNum, getLocale } from './i18n.js';
import { h, link, mono, badge, pill, timeEl, table } from './dom.js';

const enc = encodeURIComponent;

export const hrefs = {
  block: (chain, height) => `/block/${enc(chain)}/${height}`,
  blocks: (chain, cursor) => `/blocks/${enc(chain)}${cursor ? `?cursor=${cursor}` : ''}`,
  tx: (chain, hash) => `/tx/${enc(chain)}/${hash.toUpperCase()}`,
  account: (chain, addr) => `/account/${enc(chain)}/${addr.toLowerCase()}`,
  org: (chain, id) => `/org/${enc(chain)}/${enc(id)}`,
  orgs: (chain) => `/org/${enc(chain)}`,
  gov: (chain) => `/gov/${enc(chain)}`,
  proposal: (chain, id) => `/gov/${enc(chain)}/${id}`,
  evidence: (chain, digest) => `/evidence/${enc(chain)}/${digest.toUpperCase()}`,
  xchain: (chain) => `/xchain/${enc(chain)}`,
};

// chainSwitcher is a segmented control of the chains; href(chain) is each one's page.
export function chainSwitcher(ctx, active, href) {
  const ids = ctx.live.chainIds();
  if (ids.length < 2) return h('span', { class: 'chain-tag' }, active);
  return h('nav', { class: 'segmented', 'aria-label': t('chains') },
    ids.map((id) => h('a', { href: href(id), 'data-link': true, class: id === active ? 'active' : null, 'aria-current': id === active ? 'true' : null }, id)));
}

export function chainTag(chain) {
  return h('span', { class: 'chain-tag' }, chain);
}

export function addressLink(chain, addr, opts = {}) {
  if (!addr) return h('span', { class: 'muted' }, '—');
  if (addr.startsWith('org:')) return orgLink(chain, addr.slice(4));
  return mono(addr, { href: hrefs.account(chain, addr), head: 8, tail: 6, ...opts });
}

export function orgLink(chain, id, name) {
  if (!id) return h('span', { class: 'muted' }, '—');
  return link(hrefs.org(chain, id), h('span', { class: 'org-id' }, id), name && name !== id ? h('span', { class: 'muted' }, ` · ${name}`) : null);
}

// validatorLabel names a validator by its organisation, with its address.
export function validatorLabel(chain, address, dir) {
  const v = dir?.byAddress.get(address?.toUpperCase());
  return h('span', { class: 'validator' },
    v ? orgLink(chain, v.org) : h('span', { class: 'muted' }, t('unknown_validator')),
    ' ', h('span', { class: 'mono muted small hide-sm', title: address }, address ? address.slice(0, 8) : ''));
}

// msgName shortens a message type URL: /lian.evidence.v1.MsgAnchor → evidence · Anchor.
export function msgName(typeURL) {
  const key = `msg_${(typeURL || '').split('.').pop()}`;
  const label = t(key, null, '');
  if (label) return label;
  const m = /^\/lian\.([a-z]+)\.v\d+\.Msg(\w+)$/.exec(typeURL || '');
  return m ? `${m[1]} · ${m[2]}` : typeURL || '?';
}

export function msgBadge(typeURL) {
  const mod = /^\/lian\.([a-z]+)\./.exec(typeURL || '')?.[1] || 'other';
  return h('span', { class: ['badge', `mod-${mod}`], title: typeURL }, msgName(typeURL));
}

// fillerBadge marks a nonce filler: a transaction without messages, which only consumes
// its nonce.
export function fillerBadge() {
  return h('span', { class: ['badge', 'mod-other'], title: t('nonce_filler_title') }, t('nonce_filler'));
}

// msgBadges are the badges of a transaction body's messages, or the filler's badge.
export function msgBadges(body) {
  if (!body) return [];
  const msgs = body.messages || [];
  return msgs.length === 0 ? [fillerBadge()] : msgs.map((m) => msgBadge(m.type_url));
}

export function txStatus(code, codeName) {
  return code === 0 || code === undefined
    ? pill(t('tx_success'), 'ok')
    : pill(`${t('tx_failed')}${codeName ? ` · ${codeName}` : ''}`, 'bad');
}

// txRows is the table of a list of transactions (TxResult documents).
export function txTable(chain, list, { showSender = true, id, empty } = {}) {
  const cols = [
    { label: t('col_hash') },
    { label: t('col_type') },
    { label: t('col_height'), cls: 'num' },
    { label: t('col_time'), cls: 'hide-sm' },
    showSender ? { label: t('col_sender') } : null,
    { label: t('col_status') },
  ].filter(Boolean);
  const rows = list.map((tx) => [
    mono(tx.hash, { href: hrefs.tx(chain, tx.hash), copy: false }),
    h('span', { class: 'badges' }, msgBadges(tx.body)),
    link(hrefs.block(chain, tx.height), fmtNum(tx.height)),
    timeEl(tx.block_time),
    showSender ? addressLink(chain, tx.body?.sender, { copy: false }) : null,
    txStatus(tx.code, tx.code_name),
  ].filter((c, i) => showSender || i !== 4));
  return table(cols, rows, { id, empty });
}

// pager is a "more" button for cursor-paged lists.
export function morePager(onMore) {
  const btn = h('button', { type: 'button', class: 'btn' }, t('load_more'));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    btn.textContent = t('loading');
    try {
      await onMore();
    } finally {
      btn.disabled = false;
      btn.textContent = t('load_more');
    }
  });
  return h('div', { class: 'pager' }, btn);
}

export function proposalStatus(status) {
  const kind = { voting: 'info', executed: 'ok', failed: 'bad', rejected: 'bad', expired: 'muted' }[status] || 'muted';
  return pill(t(`status_${status}`, null, status), kind);
}

// tally shows a proposal's votes against the yes-votes it needs.
export function tally(p, orgCount) {
  const total = Math.max(orgCount || 0, p.required || 0, (p.yes || 0) + (p.no || 0) + (p.abstain || 0), 1);
  const seg = (n, cls) => (n > 0 ? h('span', { class: `seg ${cls}`, style: null, dataset: { w: String(Math.round((100 * n) / total)) } }) : null);
  const bar = h('div', { class: 'tally-bar', role: 'img', 'aria-label': t('tally_aria', { yes: p.yes, no: p.no, abstain: p.abstain, required: p.required }) },
    seg(p.yes, 'yes'), seg(p.no, 'no'), seg(p.abstain, 'abstain'),
    p.required ? h('span', { class: 'tally-need', dataset: { at: String(Math.round((100 * p.required) / total)) }, title: t('needed', { n: p.required }) }) : null);
  sizeBars(bar);
  return h('div', { class: 'tally' }, bar,
    h('div', { class: 'tally-legend small' },
      h('span', { class: 'yes' }, `${t('vote_yes')} ${p.yes || 0}`),
      h('span', { class: 'no' }, `${t('vote_no')} ${p.no || 0}`),
      h('span', { class: 'abstain' }, `${t('vote_abstain')} ${p.abstain || 0}`),
      h('span', { class: 'muted' }, t('needed', { n: p.required }))));
}

// sizeBars sets the widths of bar segments from their data attributes (the page's style
// policy allows no inline style attributes, but the CSS object model is fine).
export function sizeBars(root) {
  for (const el of root.querySelectorAll('[data-w]')) el.style.width = `${el.dataset.w}%`;
  for (const el of root.querySelectorAll('[data-at]')) el.style.left = `${el.dataset.at}%`;
}

// uptimeBar shows which of the recent blocks a validator signed (newest last).
export function uptimeBar(marks) {
  return h('span', { class: 'uptime', 'aria-hidden': 'true' }, marks.map((m) => h('i', { class: m === true ? 'on' : m === false ? 'off' : 'unk' })));
}

export function roleBadges(roles) {
  return h('span', { class: 'badges' }, (roles || []).map((r) => badge(t(`role_${r}`, null, r), r === 'regulator' ? 'warn' : r === 'admin' ? 'info' : '')));
}

export function fmtCredits(n) {
  return `${fmtNum(n)} ${t('credits_unit')}`;
}

// fmtMoney formats an amount in minor units of an ISO 4217 currency (500 CNY fen: ¥5.00).
export function fmtMoney(amount, currency) {
  try {
    const f = new Intl.NumberFormat(getLocale(), { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(Number(amount) / 10 ** digits);
  } catch {
    return `${fmtNum(amount)} ${currency || ''}`.trim();
  }
}
