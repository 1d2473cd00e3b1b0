// The network overview: every chain's height, block time, throughput and validators
// (online or missing from recent commits, grouped by organisation), the latest blocks
// and a live feed of transactions.

import { t, fmtNum, fmtDuration, fmtRate } from '../i18n.js';
import { h, replace, link, mono, card, table, timeEl, pill, pageHead, errorBox, spinner } from '../dom.js';
import { api, directory, txCached } from '../api.js';
import { hrefs, chainTag, validatorLabel, msgBadge, fillerBadge, txStatus, addressLink, orgLink, uptimeBar } from '../components.js';

const WINDOW = 20; // recent blocks read per chain
const RECENT_SIGNED = 3; // a validator is online if it signed one of the last commits
const FEED_SIZE = 12;
const BLOCK_ROWS = 8;

export async function overviewPage(main, ctx) {
  ctx.setTitle(t('nav_overview'));
  // The chains known when the page opens; a chain the live feed reports later (its first
  // list of chains may still be on its way) joins them (follow).
  const ids = ctx.live.chainIds();
  const newState = () => ({ blocks: null, dir: null, error: null, inflight: false, again: false, seen: new Set() });
  const state = new Map(ids.map((id) => [id, newState()]));
  function follow(id) {
    if (!id || state.has(id)) return false;
    ids.push(id);
    state.set(id, newState());
    return true;
  }
  const feed = []; // {chain, hash, height, time, code, code_name, types, filler, sender}

  const cardsEl = h('div', { class: 'chain-cards', id: 'chain-cards' });
  const valsEl = h('div', { class: 'validators-grid', id: 'validators' });
  const blocksEl = h('div', { class: 'blocks-grid', id: 'latest-blocks' });
  const feedEl = h('div', { id: 'tx-feed' });
  const subEl = h('span');

  replace(main,
    pageHead(t('network_title'), subEl),
    cardsEl,
    card(t('latest_txs'), feedEl, { id: 'feed-card', actions: h('span', { class: 'muted small', id: 'feed-mode' }) }),
    h('div', { class: 'section-head' }, h('h2', {}, t('latest_blocks'))),
    blocksEl,
    h('div', { class: 'section-head' }, h('h2', {}, t('validators')), h('p', { class: 'muted small' }, t('validators_hint', { n: RECENT_SIGNED, w: WINDOW }))),
    valsEl);

  const renderSub = () => {
    const vals = ids.reduce((n, id) => n + (ctx.live.info(id)?.validators || 0), 0);
    replace(subEl, t('network_sub', { chains: ids.length, validators: vals }));
    const fm = document.getElementById('feed-mode');
    if (fm) fm.textContent = ctx.live.mode() === 'sse' ? t('feed_sse') : t('feed_poll');
  };

  function stats(id) {
    const st = state.get(id);
    const blocks = st.blocks?.blocks || [];
    const out = { blockTime: null, tps: null, txs: null, online: null, total: null };
    if (blocks.length >= 2) {
      const newest = new Date(blocks[0].time), oldest = new Date(blocks[blocks.length - 1].time);
      const span = (newest - oldest) / 1000;
      if (span > 0) {
        out.blockTime = span / (blocks.length - 1);
        out.txs = blocks.slice(0, -1).reduce((n, b) => n + b.num_txs, 0);
        out.tps = out.txs / span;
      }
    }
    if (st.dir) {
      const live = liveness(st.dir.validators, blocks);
      out.total = live.length;
      out.online = live.filter((v) => v.online).length;
    }
    return out;
  }

  function renderCards() {
    replace(cardsEl, ids.map((id) => {
      const info = ctx.live.info(id) || {};
      const st = state.get(id);
      const s = stats(id);
      const last = info.latest_block_time ? new Date(info.latest_block_time) : null;
      const stale = last && Date.now() - last > 120000;
      return h('section', { class: 'card chain-card', id: `chain-${id}`, 'data-chain': id },
        h('div', { class: 'chain-card-head' },
          link(hrefs.blocks(id), h('h2', {}, id)),
          stale ? pill(t('chain_quiet'), 'warn') : pill(t('chain_live'), 'ok')),
        h('div', { class: 'height-row' },
          h('span', { class: 'muted small' }, t('height')),
          h('a', { href: hrefs.block(id, info.latest_height), 'data-link': true, class: 'height', id: `height-${id}`, 'data-height': String(info.latest_height || 0) }, fmtNum(info.latest_height || 0))),
        h('dl', { class: 'stats' },
          stat(t('last_block'), timeEl(info.latest_block_time)),
          stat(t('block_time'), s.blockTime == null ? '—' : fmtDuration(s.blockTime), t('block_time_hint', { n: WINDOW })),
          stat(t('tps'), s.tps == null ? '—' : fmtRate(s.tps), t('tps_hint', { n: s.txs ?? 0, w: WINDOW })),
          stat(t('validators_online'), s.total == null ? '—' : h('span', { class: s.online < s.total ? 'warn-text' : null, 'data-online': `${s.online}/${s.total}` }, `${s.online}/${s.total}`)),
          stat(t('nodes'), fmtNum(info.nodes || 0))),
        st.error ? h('p', { class: 'alert alert-error small' }, st.error.message) : null);
    }));
    renderSub();
  }

  function renderValidators() {
    replace(valsEl, ids.map((id) => {
      const st = state.get(id);
      if (!st.dir) return card(id, st.error ? errorBox(st.error) : spinner());
      const blocks = st.blocks?.blocks || [];
      const lv = liveness(st.dir.validators, blocks);
      const byOrg = new Map();
      for (const v of lv) {
        if (!byOrg.has(v.org)) byOrg.set(v.org, []);
        byOrg.get(v.org).push(v);
      }
      const groups = [...byOrg.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([org, vs]) => {
        const name = st.dir.orgById.get(org)?.name;
        return h('div', { class: 'org-group' },
          h('div', { class: 'org-group-head' }, orgLink(id, org, name)),
          h('ul', { class: 'validator-list' }, vs.map((v) => h('li', { class: 'validator-item', 'data-address': v.address, 'data-status': v.online ? 'online' : 'missing' },
            v.online ? pill(t('online'), 'ok') : pill(t('missing'), 'bad'),
            h('span', { class: 'mono small', title: v.address }, v.address.slice(0, 12)),
            h('span', { class: 'muted small' }, t('power_n', { n: fmtNum(v.power) })),
            uptimeBar(v.marks),
            h('span', { class: 'small' }, `${v.signed}/${v.known}`)))));
      });
      return card(id, h('div', { class: 'org-groups' }, groups), { cls: 'validators-card', id: `validators-${id}` });
    }));
  }

  function renderBlocks() {
    replace(blocksEl, ids.map((id) => {
      const st = state.get(id);
      if (!st.blocks) return card(id, st.error ? errorBox(st.error) : spinner());
      const cols = [{ label: t('col_height') }, { label: t('col_age') }, { label: t('col_txs'), cls: 'num' }, { label: t('col_proposer') }, { label: t('col_signed'), cls: 'num' }];
      const rows = st.blocks.blocks.slice(0, BLOCK_ROWS).map((b) => [
        link(hrefs.block(id, b.height), fmtNum(b.height)),
        timeEl(b.time),
        String(b.num_txs),
        validatorLabel(id, b.proposer, st.dir),
        b.signers ? `${b.signers.length}/${b.validator_count}` : '—',
      ]);
      return card(id, table(cols, rows, { compact: true }), { actions: link(hrefs.blocks(id), t('view_all')), cls: 'blocks-card', id: `blocks-${id}` });
    }));
  }

  function renderFeed() {
    const cols = [{ label: t('col_hash') }, { label: t('col_chain') }, { label: t('col_type') }, { label: t('col_sender'), cls: 'hide-sm' }, { label: t('col_age') }, { label: t('col_status') }];
    const rows = feed.slice(0, FEED_SIZE).map((x) => [
      mono(x.hash, { href: hrefs.tx(x.chain, x.hash), copy: false }),
      chainTag(x.chain),
      h('span', { class: 'badges' }, x.filler ? [fillerBadge()] : x.types.map(msgBadge)),
      addressLink(x.chain, x.sender, { copy: false }),
      timeEl(x.time),
      txStatus(x.code, x.code_name),
    ]);
    replace(feedEl, table(cols, rows, { empty: t('no_recent_txs'), id: 'feed-table' }));
  }

  function addToFeed(items) {
    for (const it of items) {
      if (feed.some((x) => x.chain === it.chain && x.hash === it.hash)) continue;
      feed.push(it);
    }
    feed.sort((a, b) => new Date(b.time) - new Date(a.time) || b.height - a.height);
    feed.length = Math.min(feed.length, 50);
    renderFeed();
  }

  // fetchTxs adds the transactions of blocks with transactions not seen yet (when there
  // is no stream to tell them).
  async function fetchTxs(id, blocks) {
    const st = state.get(id);
    const fresh = blocks.filter((b) => b.num_txs > 0 && !st.seen.has(b.height)).slice(0, 8);
    for (const b of fresh) st.seen.add(b.height);
    const lists = await Promise.all(fresh.map(async (b) => {
      try {
        const blk = await api.block(id, b.height, { signal: ctx.signal });
        const txs = await Promise.all(blk.tx_hashes.slice(-FEED_SIZE).map((hash) => txCached(id, hash, { signal: ctx.signal }).catch(() => null)));
        return txs.filter(Boolean).map((tx) => feedItem(id, tx));
      } catch {
        return []; // the page was left, or the block is gone from the node
      }
    }));
    const items = lists.flat();
    if (items.length && !ctx.signal.aborted) addToFeed(items);
  }

  async function refresh(id, { withDir = false } = {}) {
    const st = state.get(id);
    if (!st) return;
    if (st.inflight) {
      st.again = true;
      return;
    }
    st.inflight = true;
    try {
      const [blocks, dir] = await Promise.all([
        api.blocks(id, { limit: WINDOW }, { signal: ctx.signal }),
        withDir || !st.dir ? directory(id, { signal: ctx.signal }) : st.dir,
      ]);
      st.blocks = blocks;
      st.dir = dir;
      st.error = null;
      if (ctx.live.chains.get(id)?.mode !== 'sse') fetchTxs(id, blocks.blocks);
      else for (const b of blocks.blocks) st.seen.add(b.height);
    } catch (e) {
      if (ctx.signal.aborted) return;
      st.error = e;
    } finally {
      st.inflight = false;
    }
    renderCards();
    renderBlocks();
    renderValidators();
    if (st.again) {
      st.again = false;
      refresh(id);
    }
  }

  renderCards();
  renderBlocks();
  renderValidators();
  renderFeed();
  ctx.onLive((ev) => {
    if (ev.type === 'block') {
      const el = document.getElementById(`height-${ev.chain}`);
      if (el && Number(el.dataset.height) < ev.height) {
        el.dataset.height = String(ev.height);
        el.textContent = fmtNum(ev.height);
        el.setAttribute('href', hrefs.block(ev.chain, ev.height));
        el.classList.remove('flash');
        void el.offsetWidth; // restart the animation
        el.classList.add('flash');
      }
      if (follow(ev.chain)) refresh(ev.chain, { withDir: true });
      else refresh(ev.chain);
    } else if (ev.type === 'txs') {
      addToFeed(ev.txs.map((x) => streamItem(ev.chain, x)));
    } else if (ev.type === 'chains' || ev.type === 'mode') {
      for (const c of ev.chains || []) if (follow(c.id)) refresh(c.id, { withDir: true });
      renderSub();
    }
  });
  // The organisations and validators change rarely: re-read them now and then.
  const dirTimer = setInterval(() => ids.forEach((id) => refresh(id, { withDir: true })), 30000);
  ctx.onCleanup(() => clearInterval(dirTimer));
  await Promise.all(ids.map((id) => refresh(id, { withDir: true })));
  // The first feed: the transactions of the recent blocks.
  for (const id of ids) {
    const st = state.get(id);
    if (st.blocks && ctx.live.chains.get(id)?.mode === 'sse') {
      st.seen.clear();
      fetchTxs(id, st.blocks.blocks);
    }
  }
}

function stat(label, value, hint) {
  return h('div', { class: 'stat', title: hint || null }, h('dt', {}, label), h('dd', {}, value));
}

// liveness marks, for each validator, the recent blocks whose commit it signed.
export function liveness(validators, blocks) {
  const known = blocks.filter((b) => Array.isArray(b.signers)).reverse(); // oldest first
  return validators.map((v) => {
    const addr = v.address.toUpperCase();
    const marks = known.map((b) => b.signers.includes(addr));
    const signed = marks.filter(Boolean).length;
    const online = marks.length === 0 ? true : marks.slice(-RECENT_SIGNED).some(Boolean);
    return { address: addr, org: v.org, power: v.power, marks, signed, known: marks.length, online };
  });
}

function feedItem(chain, tx) {
  return {
    chain,
    hash: tx.hash,
    height: tx.height,
    time: tx.block_time,
    code: tx.code,
    code_name: tx.code_name,
    types: (tx.body?.messages || []).map((m) => m.type_url),
    filler: !!tx.body && (tx.body.messages || []).length === 0,
    sender: tx.body?.sender,
  };
}

// streamItem is a feed entry from the event stream's events of one transaction.
function streamItem(chain, x) {
  const attr = (ev, key) => ev.attributes?.find((a) => a.key === key)?.value;
  const txEv = x.events.find((e) => e.type === 'lian.tx');
  const types = x.events.filter((e) => e.type === 'lian.message').map((e) => attr(e, 'type')).filter(Boolean);
  // A successful transaction with no message events had no messages: a nonce filler (a
  // failed one keeps only its lian.tx event, whatever it carried).
  const filler = x.code === 0 && !!txEv && types.length === 0;
  return { chain, hash: x.hash, height: x.height, time: x.time, code: x.code, code_name: x.code_name, types, filler, sender: txEv ? attr(txEv, 'sender') : undefined };
}
