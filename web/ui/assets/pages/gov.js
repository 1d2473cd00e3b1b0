// Governance: the proposals of a chain, and a proposal with its votes.

import { t, fmtNum, fmtDuration, fmtBytes } from '../i18n.js';
import { h, replace, link, kv, card, table, timeEl, pageHead, notFound, badge, pretty } from '../dom.js';
import { api, directory } from '../api.js';
import { hrefs, chainSwitcher, addressLink, orgLink, proposalStatus, tally } from '../components.js';

const STATUSES = ['voting', 'executed', 'failed', 'rejected', 'expired'];
const PAGE = 20;

export async function govPage(main, ctx) {
  const [chain] = ctx.params;
  const status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : '';
  const before = ctx.query.get('cursor') || '';
  ctx.setTitle(`${t('nav_gov')} · ${chain}`);
  const [params, cp, list, dir] = await Promise.all([
    api.govParams(chain, { signal: ctx.signal }),
    api.consensusParams(chain, { signal: ctx.signal }),
    api.proposals(chain, { status, cursor: before, limit: PAGE }, { signal: ctx.signal }),
    directory(chain, { signal: ctx.signal }),
  ]);
  const active = dir.orgs.filter((o) => o.status === 'active').length;
  const th = params.params.threshold;
  const q = (s, b) => {
    const p = new URLSearchParams();
    if (s) p.set('status', s);
    if (b) p.set('cursor', b);
    const str = p.toString();
    return `${hrefs.gov(chain)}${str ? `?${str}` : ''}`;
  };
  const filters = h('nav', { class: 'segmented small', 'aria-label': t('filter_status') },
    ['', ...STATUSES].map((s) => h('a', { href: q(s), 'data-link': true, class: s === status ? 'active' : null }, s ? t(`status_${s}`) : t('all'))));
  const cols = [{ label: '#', cls: 'num' }, { label: t('col_title') }, { label: t('col_kind'), cls: 'hide-sm' }, { label: t('col_status') }, { label: t('col_tally') }, { label: t('col_deadline'), cls: 'hide-sm' }];
  const rows = list.proposals.map((p) => [
    link(hrefs.proposal(chain, p.id), `#${p.id}`),
    h('div', {}, link(hrefs.proposal(chain, p.id), p.title), h('div', { class: 'muted small' }, t('proposed_by'), ' ', orgLink(chain, p.org))),
    h('span', { class: 'mono small' }, p.kind),
    proposalStatus(p.status),
    tally(p, active),
    timeEl(p.deadline),
  ]);
  replace(main,
    pageHead(t('gov_title'), t('gov_sub', { chain }), chainSwitcher(ctx, chain, (id) => hrefs.gov(id))),
    card(t('gov_params'), kv([
      [t('threshold'), t('threshold_detail', { num: th.num, den: th.den, active, need: Math.ceil((active * th.num) / th.den) })],
      [t('voting_period'), fmtDuration(params.params.voting_period)],
      [t('max_block_bytes'), fmtBytes(cp.block.max_bytes)],
      [t('vote_extensions'), veStatus(cp), { field: 'vote-extensions' }],
      [t('state_height'), fmtNum(params.height)],
    ])),
    card(t('proposals'), h('div', {}, filters, table(cols, rows, { id: 'proposals-table', empty: t('no_proposals') }),
      h('div', { class: 'pager' }, before ? link(q(status), `← ${t('newest')}`) : h('span'), list.next ? link(q(status, list.next), `${t('older')} →`) : null))));
}

// veStatus says from which height the validators attest the state in vote extensions.
function veStatus(cp) {
  const e = cp.abci.vote_extensions_enable_height;
  if (!e) return t('ve_off');
  if (e <= cp.height) return t('ve_on', { height: fmtNum(e) });
  return t('ve_from', { height: fmtNum(e), n: fmtNum(e - cp.height) });
}

export async function proposalPage(main, ctx) {
  const [chain, id] = ctx.params;
  ctx.setTitle(`${t('proposal')} #${id} · ${chain}`);
  let res;
  try {
    res = await api.proposal(chain, id, { signal: ctx.signal });
  } catch (e) {
    if (e.status !== 404) throw e;
    replace(main, notFound(t('proposal_not_found', { id, chain })));
    return;
  }
  const dir = await directory(chain, { signal: ctx.signal }).catch(() => null);
  const active = dir ? dir.orgs.filter((o) => o.status === 'active').length : 0;
  const p = res.proposal;
  const voted = new Set(res.votes.map((v) => v.org));
  const waiting = dir ? dir.orgs.filter((o) => o.status === 'active' && !voted.has(o.id)) : [];
  const cols = [{ label: t('col_org') }, { label: t('col_vote') }, { label: t('col_voter') }, { label: t('col_height') }];
  replace(main,
    pageHead(`#${p.id} ${p.title}`, h('span', {}, chain, ' · ', h('span', { class: 'mono' }, p.kind)), proposalStatus(p.status)),
    h('div', { class: 'grid-2' },
      card(t('overview'), kv([
        [t('status'), proposalStatus(p.status), { field: 'status' }],
        [t('col_kind'), h('span', { class: 'mono' }, p.kind)],
        [t('proposer'), h('span', {}, addressLink(chain, p.proposer), ' · ', orgLink(chain, p.org))],
        [t('submitted'), h('span', {}, link(hrefs.block(chain, p.submit_height), `#${fmtNum(p.submit_height)}`), ' · ', timeEl(p.submit_time, { absolute: true }))],
        [t('deadline'), timeEl(p.deadline, { absolute: true })],
        [t('decided'), p.decided_height ? link(hrefs.block(chain, p.decided_height), `#${fmtNum(p.decided_height)}`) : null],
        [t('error'), p.error ? h('span', { class: 'error-text' }, p.error) : null],
      ])),
      card(t('col_tally'), h('div', {}, tally(p, active),
        p.status === 'voting' && waiting.length ? h('p', { class: 'small' }, t('waiting_for'), ' ', waiting.map((o, i) => [i ? ', ' : '', orgLink(chain, o.id)])) : null))),
    card(t('content'), pretty(p.content)),
    card(t('votes_n', { n: res.votes.length }), table(cols, res.votes.map((v) => [
      orgLink(chain, v.org),
      badge(t(`vote_${v.option}`, null, v.option), v.option === 'yes' ? 'ok' : v.option === 'no' ? 'bad' : ''),
      addressLink(chain, v.voter),
      link(hrefs.block(chain, v.height), `#${fmtNum(v.height)}`),
    ]), { id: 'votes-table', empty: t('no_votes') })));
  // Follow the vote while it is open.
  if (p.status === 'voting') {
    let busy = false;
    ctx.onLive(async (ev) => {
      if (ev.type !== 'block' || ev.chain !== chain || busy) return;
      busy = true;
      try {
        const next = await api.proposal(chain, id, { signal: ctx.signal });
        const cur = next.proposal;
        if (cur.status !== p.status || cur.yes !== p.yes || cur.no !== p.no || cur.abstain !== p.abstain) ctx.navigate(location.pathname, { replace: true });
      } catch { /* next block */ } finally {
        busy = false;
      }
    });
  }
}
