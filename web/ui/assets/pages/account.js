// The account page: organisation, roles, status (frozen or not), credits and history.

import { t, fmtNum } from '../i18n.js';
import { h, replace, link, mono, kv, card, table, timeEl, pageHead, pill, notFound, errorBox, spinner, badge } from '../dom.js';
import { api } from '../api.js';
import { hrefs, chainSwitcher, addressLink, orgLink, roleBadges, txTable, morePager, fmtCredits, fmtMoney } from '../components.js';

export async function accountPage(main, ctx) {
  const [chain, addrIn] = ctx.params;
  const addr = addrIn.toLowerCase();
  ctx.setTitle(`${t('account')} ${addr.slice(0, 10)}… · ${chain}`);
  let res;
  try {
    res = await api.account(chain, addr, { signal: ctx.signal });
  } catch (e) {
    if (e.status !== 404) throw e;
    replace(main,
      pageHead(t('account'), chain, chainSwitcher(ctx, chain, (id) => hrefs.account(id, addr))),
      notFound(t('account_not_found', { addr, chain })));
    return;
  }
  const a = res.account;
  const frozen = a.status === 'frozen' || !!a.freeze;
  const balanceEl = h('span', { id: 'account-balance' }, spinner(''));
  const historyEl = h('div', { id: 'account-history' }, spinner());
  const statementEl = h('div', { id: 'account-statement' }, spinner());

  replace(main,
    pageHead(t('account'), mono(a.address, { full: true }), chainSwitcher(ctx, chain, (id) => hrefs.account(id, addr))),
    frozen ? h('div', { class: 'alert alert-warn', id: 'frozen-banner', role: 'status' },
      h('strong', {}, t('account_frozen')), ' ',
      a.freeze ? t('frozen_detail', { reason: a.freeze.reason, height: fmtNum(a.freeze.height) }) : '',
      a.freeze?.by ? h('span', {}, ' ', t('frozen_by'), ' ', addressLink(chain, a.freeze.by)) : null,
      a.freeze?.time ? h('span', {}, ' · ', timeEl(a.freeze.time, { absolute: true })) : null) : null,
    h('div', { class: 'grid-2' },
      card(t('overview'), kv([
        [t('address'), mono(a.address, { full: true })],
        [t('org'), orgLink(chain, a.org), { field: 'org' }],
        [t('roles'), roleBadges(a.roles), { field: 'roles' }],
        [t('status'), frozen ? pill(t('status_frozen'), 'bad') : a.status === 'active' ? pill(t('status_active'), 'ok') : pill(t(`status_${a.status}`, null, a.status), 'warn'), { field: 'status' }],
        [t('credits'), balanceEl, { field: 'credits' }],
        [t('next_nonce'), fmtNum(res.nonce)],
      ])),
      card(t('identity'), kv([
        [t('key_algo'), badge((a.algo || '').toUpperCase())],
        [t('pub_key'), mono(a.pub_key, { full: true })],
        [t('identity_hash'), mono(a.identity_hash, { full: true })],
        [t('identity_hash_hint_label'), h('span', { class: 'muted small' }, t('identity_hash_hint'))],
        [t('registered'), a.registered_by
          ? h('span', {}, t('registered_by'), ' ', addressLink(chain, a.registered_by), ' · ', link(hrefs.block(chain, a.height), `#${fmtNum(a.height)}`),
            a.tx_hash ? h('span', {}, ' · ', link(hrefs.tx(chain, a.tx_hash), t('transaction'))) : null)
          : t('registered_genesis')],
      ]))),
    card(t('history'), historyEl, { actions: h('span', { class: 'muted small' }, t('history_hint')) }),
    card(t('credit_statement'), statementEl));

  api.balance(chain, addr, { signal: ctx.signal })
    .then((b) => replace(balanceEl, fmtCredits(b.credits)))
    .catch((e) => { if (!ctx.signal.aborted) replace(balanceEl, h('span', { class: 'muted' }, e.message)); });

  // History: newest first, a page at a time.
  const txs = [];
  let cursor = null;
  async function moreTxs() {
    const page = await api.accountTxs(chain, addr, { order: 'desc', limit: 20, cursor: cursor || undefined }, { signal: ctx.signal });
    txs.push(...page.txs);
    cursor = page.next || null;
    replace(historyEl, txTable(chain, txs, { showSender: false, id: 'history-table', empty: t('no_txs') }), cursor ? morePager(moreTxs) : null);
  }
  moreTxs().catch((e) => { if (!ctx.signal.aborted) replace(historyEl, errorBox(e)); });

  const entries = [];
  let scursor = null;
  async function moreEntries() {
    const page = await api.statement(chain, addr, { limit: 50, cursor: scursor || undefined }, { signal: ctx.signal });
    entries.push(...page.entries);
    scursor = page.next || null;
    replace(statementEl, statementTable(chain, entries), scursor ? morePager(moreEntries) : null);
  }
  moreEntries().catch((e) => { if (!ctx.signal.aborted) replace(statementEl, errorBox(e)); });
}

// statementTable lists top-ups and charges (oldest first, as the gateway pages them).
export function statementTable(chain, entries) {
  const cols = [{ label: t('col_height') }, { label: t('col_time'), cls: 'hide-sm' }, { label: t('col_kind') }, { label: t('col_credits'), cls: 'num' }, { label: t('col_details') }];
  return table(cols, entries.map((e) => [
    link(hrefs.block(chain, e.height), fmtNum(e.height)),
    timeEl(e.time),
    e.kind === 'top_up' ? badge(t('entry_top_up'), 'ok') : badge(t('entry_charge')),
    h('span', { class: e.kind === 'top_up' ? 'pos' : 'neg' }, `${e.kind === 'top_up' ? '+' : '−'}${fmtNum(e.credits)}`),
    e.kind === 'top_up'
      ? h('span', {}, t('top_up_detail', { amount: fmtMoney(e.amount, e.currency), ref: e.payment_ref, payer: e.payer_name }), ' · ', link(hrefs.tx(chain, e.tx_hash), t('transaction')))
      : h('span', {}, t('charge_detail', { nonce: e.nonce ?? '' }), ' ', e.sender ? addressLink(chain, e.sender, { copy: false }) : null, ' · ', link(hrefs.tx(chain, e.tx_hash), t('transaction')),
        e.code ? h('span', { class: 'error-text' }, ` (${e.code_name || e.code})`) : null),
  ]), { id: 'statement-table', empty: t('no_entries') });
}
