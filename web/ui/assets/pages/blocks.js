// The block list of a chain and the block page.

import { t, fmtNum } from '../i18n.js';
import { h, replace, link, mono, kv, card, table, timeEl, pageHead, pill, notFound, spinner, errorBox } from '../dom.js';
import { api, directory, txCached } from '../api.js';
import { hrefs, chainSwitcher, validatorLabel, orgLink, msgBadges, txStatus, addressLink } from '../components.js';

const PAGE = 25;

export async function blocksPage(main, ctx) {
  const [chain] = ctx.params;
  const before = Number(ctx.query.get('cursor')) || 0;
  ctx.setTitle(`${t('nav_blocks')} · ${chain}`);
  const body = h('div', { id: 'blocks-list' }, spinner());
  replace(main,
    pageHead(t('blocks_title'), t('blocks_sub', { chain }), chainSwitcher(ctx, chain, (id) => hrefs.blocks(id))),
    card(null, body));

  let dir = null;
  async function load() {
    const [page, d] = await Promise.all([
      api.blocks(chain, { limit: PAGE, cursor: before || undefined }, { signal: ctx.signal }),
      dir || directory(chain, { signal: ctx.signal }),
    ]);
    dir = d;
    const cols = [
      { label: t('col_height') }, { label: t('col_age') }, { label: t('col_time'), cls: 'hide-sm' },
      { label: t('col_txs'), cls: 'num' }, { label: t('col_proposer') }, { label: t('col_signed'), cls: 'num' }, { label: t('col_hash'), cls: 'hide-sm' },
    ];
    const rows = page.blocks.map((b) => [
      link(hrefs.block(chain, b.height), fmtNum(b.height)),
      timeEl(b.time),
      timeEl(b.time, { absolute: true }),
      String(b.num_txs),
      validatorLabel(chain, b.proposer, dir),
      b.signers ? `${b.signers.length}/${b.validator_count}` : '—',
      mono(b.hash, { copy: false }),
    ]);
    const top = page.blocks[0]?.height;
    const newer = before && top ? (top + PAGE + 1 > page.latest_height ? hrefs.blocks(chain) : hrefs.blocks(chain, top + PAGE + 1)) : null;
    replace(body,
      table(cols, rows, { id: 'blocks-table' }),
      h('div', { class: 'pager' },
        newer ? link(newer, `← ${t('newer')}`) : h('span', { class: 'muted' }, before ? '' : t('live_list')),
        page.next ? link(hrefs.blocks(chain, page.next), `${t('older')} →`) : null));
  }
  await load();
  if (!before) {
    // The first page follows the chain.
    let busy = false;
    ctx.onLive((ev) => {
      if (ev.type !== 'block' || ev.chain !== chain || busy) return;
      busy = true;
      load().catch(() => {}).finally(() => { busy = false; });
    });
  }
}

export async function blockPage(main, ctx) {
  const [chain, hs] = ctx.params;
  const height = Number(hs);
  ctx.setTitle(`${t('block')} ${fmtNum(height)} · ${chain}`);
  let blk;
  try {
    blk = await api.block(chain, height, { signal: ctx.signal });
  } catch (e) {
    if (e.status !== 404) throw e;
    const latest = ctx.live.info(chain)?.latest_height || 0;
    replace(main, notFound(height > latest ? t('block_future', { height: fmtNum(height), latest: fmtNum(latest) }) : t('block_missing', { height: fmtNum(height) })));
    if (height > latest) {
      // Show it once it is produced.
      ctx.onLive((ev) => {
        if (ev.type === 'block' && ev.chain === chain && ev.height >= height) ctx.navigate(location.pathname, { replace: true });
      });
    }
    return;
  }
  const dir = await directory(chain, { signal: ctx.signal }).catch(() => null);
  let header = {};
  try {
    header = typeof blk.header === 'string' ? JSON.parse(blk.header) : blk.header || {};
  } catch { /* shown raw below */ }
  const latest = ctx.live.info(chain)?.latest_height || height;
  const nav = h('div', { class: 'block-nav' },
    height > 1 ? link(hrefs.block(chain, height - 1), `← ${fmtNum(height - 1)}`) : null,
    height < latest ? link(hrefs.block(chain, height + 1), `${fmtNum(height + 1)} →`) : h('span', { class: 'muted' }, t('latest_block')));
  const sigBody = h('div', { id: 'block-signatures' }, spinner());
  const txBody = h('div', { id: 'block-txs' }, blk.tx_hashes.length ? spinner() : h('p', { class: 'empty' }, t('block_no_txs')));

  replace(main,
    pageHead(`${t('block')} #${fmtNum(height)}`, chain, nav),
    card(t('overview'), kv([
      [t('height'), h('span', { 'data-testid': 'block-height' }, fmtNum(blk.height))],
      [t('block_hash'), mono(blk.hash, { full: true })],
      [t('time'), h('span', {}, timeEl(blk.time, { absolute: true }), ' · ', timeEl(blk.time))],
      [t('proposer'), validatorLabel(chain, blk.proposer, dir)],
      [t('transactions'), fmtNum(blk.tx_hashes.length)],
      [t('signatures'), blk.validator_count ? `${blk.commit_signatures}/${blk.validator_count}` : '—'],
      [t('app_hash'), mono(blk.app_hash, { full: true }), { field: 'app-hash' }],
      [t('app_hash_hint_label'), h('span', { class: 'muted small' }, t('app_hash_hint'))],
      [t('validators_hash'), mono(header.validators_hash, { full: true })],
      [t('last_block_id'), header.last_block_id?.hash ? mono(header.last_block_id.hash, { full: true, href: height > 1 ? hrefs.block(chain, height - 1) : undefined }) : null],
      [t('data_hash'), header.data_hash ? mono(header.data_hash, { full: true }) : null],
      [t('chain_id'), header.chain_id],
    ])),
    card(t('transactions'), txBody),
    card(t('commit_signatures'), sigBody, { actions: h('span', { class: 'muted small' }, t('commit_hint')) }),
    h('details', { class: 'card raw' }, h('summary', {}, t('raw_header')), h('pre', { class: 'code' }, JSON.stringify(header, null, 2))));

  const sigs = api.signatures(chain, height, { signal: ctx.signal }).then((s) => {
    const cols = [{ label: t('col_validator') }, { label: t('col_org') }, { label: t('col_power'), cls: 'num' }, { label: t('col_vote') }, { label: t('col_time'), cls: 'hide-sm' }];
    const rows = s.signatures.map((x) => [
      h('span', { class: 'mono small', title: x.address }, x.address),
      orgLink(chain, x.org),
      fmtNum(x.power),
      x.flag === 'commit' ? pill(t('flag_commit'), 'ok') : x.flag === 'nil' ? pill(t('flag_nil'), 'warn') : pill(t('flag_absent'), 'bad'),
      x.time ? timeEl(x.time, { absolute: true }) : '—',
    ]);
    replace(sigBody,
      h('p', { class: 'small' }, t('signed_power', { signed: fmtNum(s.signed_power), total: fmtNum(s.total_power) }), ' ',
        s.canonical ? '' : h('span', { class: 'muted' }, t('commit_not_canonical'))),
      table(cols, rows));
  }).catch((e) => { if (!ctx.signal.aborted) replace(sigBody, errorBox(e)); });

  if (blk.tx_hashes.length) {
    const list = await Promise.all(blk.tx_hashes.slice(0, 100).map((hash) => txCached(chain, hash, { signal: ctx.signal }).catch(() => ({ hash, missing: true }))));
    const cols = [{ label: '#', cls: 'num' }, { label: t('col_hash') }, { label: t('col_type') }, { label: t('col_sender') }, { label: t('col_status') }];
    replace(txBody, table(cols, list.map((tx, i) => [
      String(i),
      mono(tx.hash, { href: hrefs.tx(chain, tx.hash), copy: false }),
      tx.missing ? h('span', { class: 'muted' }, t('not_indexed')) : h('span', { class: 'badges' }, msgBadges(tx.body)),
      tx.missing ? '—' : addressLink(chain, tx.body?.sender, { copy: false }),
      tx.missing ? '—' : txStatus(tx.code, tx.code_name),
    ]), { id: 'block-txs-table' }));
  }
  await sigs;
}
