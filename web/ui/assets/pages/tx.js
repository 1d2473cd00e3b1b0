// The transaction page: result, sender, fee, decoded messages, events.

import { t, fmtNum } from '../i18n.js';
import { h, replace, link, mono, kv, card, table, timeEl, pageHead, notFound, badge } from '../dom.js';
import { api } from '../api.js';
import { hrefs, addressLink, orgLink, msgBadge, msgName, txStatus, fmtCredits, fmtMoney } from '../components.js';

export async function txPage(main, ctx) {
  const [chain, hashIn] = ctx.params;
  const hash = hashIn.toUpperCase();
  ctx.setTitle(`${t('transaction')} ${hash.slice(0, 10)}… · ${chain}`);
  let tx;
  try {
    tx = await api.tx(chain, hash, { signal: ctx.signal });
  } catch (e) {
    if (e.status !== 404) throw e;
    replace(main, notFound(t('tx_not_found', { hash, chain })));
    // A transaction just submitted shows up with its block.
    ctx.onLive((ev) => {
      if (ev.type === 'block' && ev.chain === chain) {
        api.tx(chain, hash, { signal: ctx.signal }).then(() => ctx.navigate(location.pathname, { replace: true }), () => {});
      }
    });
    return;
  }
  const attrs = (type) => {
    const ev = tx.events.find((e) => e.type === type);
    return ev ? Object.fromEntries(ev.attributes.map((a) => [a.key, a.value])) : null;
  };
  const lianTx = attrs('lian.tx') || {};
  const body = tx.body || {};
  const msgs = body.messages || [];

  replace(main,
    pageHead(t('transaction'), chain, h('span', { class: 'badges' }, msgs.map((m) => msgBadge(m.type_url)))),
    card(t('overview'), kv([
      [t('tx_hash'), mono(tx.hash, { full: true }), { field: 'tx-hash' }],
      [t('status'), h('span', { 'data-testid': 'tx-status' }, txStatus(tx.code, tx.code_name))],
      [t('error'), tx.code ? h('span', { class: 'error-text' }, tx.log || tx.code_name || String(tx.code)) : null],
      [t('block'), h('span', {}, link(hrefs.block(chain, tx.height), fmtNum(tx.height)), h('span', { class: 'muted' }, ` · ${t('position_n', { n: tx.index })}`))],
      [t('time'), tx.block_time ? h('span', {}, timeEl(tx.block_time, { absolute: true }), ' · ', timeEl(tx.block_time)) : null],
      [t('sender'), body.sender ? addressLink(chain, body.sender, { full: true }) : null, { field: 'sender' }],
      [t('org'), lianTx.org ? orgLink(chain, lianTx.org) : null],
      [t('nonce'), body.nonce !== undefined ? fmtNum(body.nonce) : null],
      [t('fee'), lianTx.fee ? fmtCredits(Number(lianTx.fee)) : null],
      [t('payer'), lianTx.payer ? addressLink(chain, lianTx.payer) : null],
      [t('gas_limit'), body.gas_limit ? fmtNum(body.gas_limit) : null],
      [t('memo'), body.memo || null],
      [t('signer'), tx.signer ? h('span', {}, badge(tx.signer.algo.toUpperCase()), ' ', mono(tx.signer.pub_key, { head: 10, tail: 8 })) : null],
    ])),
    card(t('messages_n', { n: msgs.length }), h('div', { class: 'messages', id: 'tx-messages' }, msgs.map((m, i) => message(chain, m, i)))),
    card(t('events_n', { n: tx.events.length }), eventsTable(chain, tx.events)),
    tx.tx ? h('details', { class: 'card raw' }, h('summary', {}, t('raw_tx')), h('pre', { class: 'code wrap' }, tx.tx)) : null);
}

// message shows one decoded message; fields that name an account, a digest or a
// proposal link to their pages.
function message(chain, m, i) {
  let fields = null;
  if (m.decoded) {
    const d = m.decoded;
    fields = kv(Object.entries(d).map(([k, v]) => [t(`field_${k}`, null, k), fieldValue(chain, m.type_url, k, v, d)]), 'kv-compact');
  } else {
    fields = h('p', { class: 'muted small' }, t('not_decoded'));
  }
  return h('div', { class: 'message', 'data-type': m.type_url },
    h('div', { class: 'message-head' }, h('span', { class: 'muted' }, `#${i}`), msgBadge(m.type_url), h('span', { class: 'mono muted small' }, m.type_url)),
    fields);
}

function fieldValue(chain, type, key, v, d) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'string') {
    if (/^0x[0-9a-fA-F]{40}$/.test(v)) return addressLink(chain, v, { full: true });
    if (key === 'holder' && v.startsWith('org:')) return orgLink(chain, v.slice(4));
    if (key === 'digest' && type === '/lian.attest.v1.MsgAttest' && /^[0-9A-Fa-f]{64}$/.test(v)) {
      // The digest is asked about on the other chain: the answer is on the cross-chain page.
      const q = new URLSearchParams({ digest: v, route: d.route || '' });
      return h('span', {}, mono(v, { full: true }), ' ', link(`${hrefs.xchain(chain)}?${q}`, t('ask_again')));
    }
    if ((key === 'digest' || key === 'root') && /^[0-9A-Fa-f]{64}$/.test(v)) {
      return h('span', {}, mono(v, { full: true, href: hrefs.evidence(chain, v) }), ' ', link(hrefs.evidence(chain, v), t('check_proof')));
    }
    if (/^[0-9A-F]{40,}$/.test(v)) return mono(v, { full: true });
    if (key === 'role') return badge(t(`role_${v}`, null, v));
    return h('span', { class: 'break' }, v);
  }
  if (key === 'proposal_id') return link(hrefs.proposal(chain, v), `#${v}`);
  if (key === 'option') return badge(t(`vote_${v}`, null, String(v)), v === 'yes' ? 'ok' : v === 'no' ? 'bad' : '');
  if (key === 'amount' && d.currency) return `${fmtMoney(v, d.currency)} (${fmtNum(v)})`;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return h('span', { class: 'badges' }, v.map((x) => badge(t(`role_${x}`, null, x))));
  if (Array.isArray(v) && key === 'metadata') return kv(v.map((e) => [e.key, e.value]), 'kv-compact');
  if (typeof v === 'object') return h('pre', { class: 'code small' }, JSON.stringify(v, null, 2));
  return String(v);
}

function eventsTable(chain, events) {
  const cols = [{ label: '#', cls: 'num' }, { label: t('col_event') }, { label: t('col_attributes') }];
  return table(cols, events.map((e, i) => [
    String(i),
    h('span', { class: 'mono small' }, e.type),
    kv(e.attributes.map((a) => [a.key, attrValue(chain, a)]), 'kv-compact'),
  ]), { id: 'tx-events' });
}

function attrValue(chain, a) {
  const v = a.value;
  if (/^0x[0-9a-fA-F]{40}$/.test(v)) return addressLink(chain, v);
  if (v.startsWith('org:')) return orgLink(chain, v.slice(4));
  if (a.key === 'org') return orgLink(chain, v);
  if (a.key === 'type' && v.startsWith('/lian.')) return h('span', {}, msgName(v), h('span', { class: 'muted mono small' }, ` ${v}`));
  if (a.key === 'proposal' && /^\d+$/.test(v)) return link(hrefs.proposal(chain, v), `#${v}`);
  if (a.key === 'digest' && /^[0-9A-Fa-f]{64}$/.test(v)) return mono(v, { href: hrefs.evidence(chain, v) });
  return h('span', { class: 'break' }, v);
}
