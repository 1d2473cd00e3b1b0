// The organisations of a chain, and one organisation's page.

import { t, fmtNum } from '../i18n.js';
import { h, replace, link, mono, kv, card, table, timeEl, pageHead, pill, notFound, errorBox, spinner } from '../dom.js';
import { api, directory } from '../api.js';
import { hrefs, chainSwitcher, orgLink, txTable, morePager, fmtCredits, proposalStatus, uptimeBar } from '../components.js';
import { liveness } from './overview.js';

function orgStatus(status) {
  const kind = status === 'active' ? 'ok' : status === 'suspended' ? 'warn' : 'bad';
  return pill(t(`status_${status}`, null, status), kind);
}

export async function orgsPage(main, ctx) {
  const [chain] = ctx.params;
  ctx.setTitle(`${t('nav_orgs')} · ${chain}`);
  const dir = await directory(chain, { signal: ctx.signal });
  const powerOf = (org) => dir.validators.filter((v) => v.org === org).reduce((n, v) => n + v.power, 0);
  const cols = [{ label: t('col_org') }, { label: t('col_name') }, { label: t('col_status') }, { label: t('col_validators'), cls: 'num' }, { label: t('col_power'), cls: 'num' }, { label: t('col_admitted'), cls: 'hide-sm' }];
  replace(main,
    pageHead(t('orgs_title'), t('orgs_sub', { chain, n: dir.orgs.length }), chainSwitcher(ctx, chain, (id) => hrefs.orgs(id))),
    card(null, table(cols, dir.orgs.map((o) => [
      orgLink(chain, o.id),
      o.name,
      orgStatus(o.status),
      fmtNum((o.validators || []).length),
      fmtNum(powerOf(o.id)),
      o.height ? link(hrefs.block(chain, o.height), `#${fmtNum(o.height)}`) : t('genesis'),
    ]), { id: 'orgs-table' })));
}

export async function orgPage(main, ctx) {
  const [chain, id] = ctx.params;
  ctx.setTitle(`${id} · ${chain}`);
  const dir = await directory(chain, { signal: ctx.signal });
  const org = dir.orgById.get(id);
  if (!org) {
    replace(main, pageHead(t('org'), chain, chainSwitcher(ctx, chain, (c) => hrefs.org(c, id))), notFound(t('org_not_found', { id, chain })));
    return;
  }
  const vals = dir.validators.filter((v) => v.org === id);
  const balanceEl = h('span', { id: 'org-balance' }, spinner(''));
  const sponsorEl = h('span', { id: 'org-sponsorship' }, spinner(''));
  const valsEl = h('div', { id: 'org-validators' }, vals.length ? spinner() : h('p', { class: 'empty' }, t('org_no_validators')));
  const txsEl = h('div', { id: 'org-txs' }, spinner());
  const propsEl = h('div', { id: 'org-proposals' }, spinner());

  replace(main,
    pageHead(org.name || org.id, h('span', {}, h('span', { class: 'mono' }, org.id), ' · ', chain), chainSwitcher(ctx, chain, (c) => hrefs.org(c, id))),
    h('div', { class: 'grid-2' },
      card(t('overview'), kv([
        [t('org_id'), h('span', { class: 'mono' }, org.id)],
        [t('col_name'), org.name],
        [t('status'), orgStatus(org.status), { field: 'status' }],
        [t('admitted'), org.height ? link(hrefs.block(chain, org.height), `#${fmtNum(org.height)}`) : t('genesis')],
        [t('credits'), balanceEl, { field: 'credits' }],
        [t('sponsorship'), sponsorEl],
      ])),
      card(t('validators'), valsEl)),
    card(t('org_txs'), txsEl, { actions: h('span', { class: 'muted small' }, t('org_txs_hint')) }),
    card(t('org_proposals'), propsEl));

  api.balance(chain, `org:${id}`, { signal: ctx.signal })
    .then((b) => replace(balanceEl, fmtCredits(b.credits)))
    .catch((e) => { if (!ctx.signal.aborted) replace(balanceEl, h('span', { class: 'muted' }, e.message)); });
  api.sponsorship(chain, id, { signal: ctx.signal })
    .then((s) => replace(sponsorEl, t('sponsorship_detail', { cap: fmtNum(s.sponsorship.cap), period: t('days_n', { n: Math.round(s.sponsorship.period / 86400) }) })))
    .catch((e) => { if (!ctx.signal.aborted) replace(sponsorEl, e.status === 404 ? t('no_sponsorship') : h('span', { class: 'muted' }, e.message)); });

  if (vals.length) {
    api.blocks(chain, { limit: 20 }, { signal: ctx.signal }).then((page) => {
      const lv = liveness(vals, page.blocks);
      const cols = [{ label: t('col_status') }, { label: t('col_address') }, { label: t('col_power'), cls: 'num' }, { label: t('col_recent') }];
      replace(valsEl, table(cols, lv.map((v) => [
        v.online ? pill(t('online'), 'ok') : pill(t('missing'), 'bad'),
        mono(v.address, { head: 12, tail: 4 }),
        fmtNum(v.power),
        h('span', {}, uptimeBar(v.marks), ` ${v.signed}/${v.known}`),
      ])));
    }).catch((e) => { if (!ctx.signal.aborted) replace(valsEl, errorBox(e)); });
  }

  const txs = [];
  let cursor = null;
  async function moreTxs() {
    const page = await api.orgTxs(chain, id, { order: 'desc', limit: 20, cursor: cursor || undefined }, { signal: ctx.signal });
    txs.push(...page.txs);
    cursor = page.next || null;
    replace(txsEl, txTable(chain, txs, { id: 'org-txs-table', empty: t('no_txs') }), cursor ? morePager(moreTxs) : null);
  }
  moreTxs().catch((e) => { if (!ctx.signal.aborted) replace(txsEl, errorBox(e)); });

  // Proposals the organisation submitted, among the latest hundred.
  api.proposals(chain, { limit: 100 }, { signal: ctx.signal }).then((res) => {
    const mine = res.proposals.filter((p) => p.org === id);
    const cols = [{ label: '#', cls: 'num' }, { label: t('col_title') }, { label: t('col_kind') }, { label: t('col_status') }, { label: t('col_submitted'), cls: 'hide-sm' }];
    replace(propsEl, table(cols, mine.map((p) => [
      link(hrefs.proposal(chain, p.id), `#${p.id}`),
      link(hrefs.proposal(chain, p.id), p.title),
      h('span', { class: 'mono small' }, p.kind),
      proposalStatus(p.status),
      timeEl(p.submit_time),
    ]), { empty: t('org_no_proposals') }));
  }).catch((e) => { if (!ctx.signal.aborted) replace(propsEl, errorBox(e)); });
}
