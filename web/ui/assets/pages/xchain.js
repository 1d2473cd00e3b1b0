// Cross-chain: a chain's light clients of other chains, its routes, the packets it sent
// with their state, and the answers other chains gave it about document digests.

import { t, fmtNum, fmtDuration } from '../i18n.js';
import { h, replace, link, mono, card, table, timeEl, pageHead, pill, badge, kv, errorBox, spinner } from '../dom.js';
import { api } from '../api.js';
import { hrefs, chainSwitcher, addressLink, orgLink } from '../components.js';
import * as verifier from '../verifier.js';
import { proofSummary } from './verify.js';

const PACKETS_PER_ROUTE = 10;
const MAX_ROUTES = 12;

function clientStatus(status) {
  const kind = { active: 'ok', frozen: 'bad', expired: 'warn' }[status] || 'muted';
  return pill(t(`xstatus_${status}`, null, status), kind);
}

function packetState(p) {
  if (!p.state) return badge(t('xstate_none'), '');
  const kind = { sent: 'info', acknowledged: 'ok', timed_out: 'warn' }[p.state] || '';
  let label = t(`xstate_${p.state}`, null, p.state);
  if (p.outcome?.ack_error) return badge(t('xstate_refused'), 'bad');
  return badge(label, kind);
}

// seconds parses a Go duration ("336h0m0s") into seconds.
function seconds(d) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(d || '');
  if (!m) return null;
  return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Math.round(Number(m[3] || 0));
}

function durationText(d) {
  const s = seconds(d);
  return s === null ? d : fmtDuration(s);
}

export async function xchainPage(main, ctx) {
  const [chain] = ctx.params;
  const o = { signal: ctx.signal };
  ctx.setTitle(`${t('nav_xchain')} · ${chain}`);
  const [clients, routes] = await Promise.all([api.xClients(chain, o), api.xRoutes(chain, o)]);
  const clientById = new Map(clients.clients.map((c) => [c.id, c]));
  const peerOf = (r) => clientById.get(r.client)?.chain_id || r.client;
  const peers = [...new Set(clients.clients.map((c) => c.chain_id))].sort();

  const clientCols = [{ label: t('col_client') }, { label: t('col_chain') }, { label: t('col_status') }, { label: t('col_latest_height'), cls: 'num' },
    { label: t('col_latest_time'), cls: 'hide-sm' }, { label: t('col_trusting_period'), cls: 'hide-sm' }, { label: t('col_trust_level'), cls: 'hide-sm' }];
  const clientRows = clients.clients.map((c) => {
    const known = ctx.live.chainIds().includes(c.chain_id);
    return [
      h('span', { class: 'mono' }, c.id),
      known ? link(hrefs.xchain(c.chain_id), c.chain_id) : c.chain_id,
      h('div', {}, clientStatus(c.status), c.frozen && c.frozen_reason ? h('div', { class: 'muted small' }, t('frozen_at', { h: fmtNum(c.frozen_height) }), ': ', c.frozen_reason) : null),
      h('div', {}, known ? link(hrefs.block(c.chain_id, c.latest_height), `#${fmtNum(c.latest_height)}`) : `#${fmtNum(c.latest_height)}`,
        // The validators attested the state after the latest header's block (vote extensions).
        c.proven_height > c.latest_height ? h('div', { class: 'muted small' }, t('proven_to', { h: fmtNum(c.latest_height) })) : null),
      c.latest ? timeEl(c.latest.time) : '—',
      durationText(c.trusting_period),
      `${c.trust_level.numerator}/${c.trust_level.denominator}`,
    ];
  });

  const routeCols = [{ label: t('col_route') }, { label: t('col_port') }, { label: t('col_to') }, { label: t('col_counterparty_route'), cls: 'hide-sm' },
    { label: t('col_ordered'), cls: 'hide-sm' }, { label: t('col_status') }, { label: t('col_opened'), cls: 'num hide-sm' }];
  const routeRows = routes.routes.map((r) => [
    h('span', { class: 'mono' }, r.id),
    badge(r.port, 'info'),
    h('span', {}, peerOf(r), h('span', { class: 'muted small' }, ` (${t('col_client').toLowerCase()} ${r.client})`)),
    h('span', { class: 'mono small' }, `${r.counterparty_route} · ${r.counterparty_port}`),
    r.ordered ? t('yes') : t('no'),
    pill(t(`route_${r.status}`, null, r.status), r.status === 'open' ? 'ok' : 'muted'),
    link(hrefs.block(chain, r.opened_height), `#${fmtNum(r.opened_height)}`),
  ]);

  const packetsBody = h('div', { id: 'xchain-packets-body' }, spinner());
  const lookup = attestationLookup(chain, peers, ctx, (id) => {
    const r = routes.routes.find((x) => x.id === id);
    return r ? peerOf(r) : '';
  });

  replace(main,
    pageHead(t('xchain_title'), t('xchain_sub', { chain }), chainSwitcher(ctx, chain, (id) => hrefs.xchain(id))),
    card(t('xchain_clients'), h('div', {}, h('p', { class: 'muted small' }, t('xchain_clients_help')),
      table(clientCols, clientRows, { id: 'xchain-clients-table', empty: t('no_clients') })), { id: 'xchain-clients' }),
    card(t('xchain_routes'), table(routeCols, routeRows, { id: 'xchain-routes-table', empty: t('no_routes') }), { id: 'xchain-routes' }),
    card(t('xchain_packets'), packetsBody, { id: 'xchain-packets' }),
    lookup);

  const shown = routes.routes.slice(0, MAX_ROUTES);
  const renderPackets = async () => {
    const pages = await Promise.all(shown.map((r) => api.xPackets(chain, r.id, { limit: PACKETS_PER_ROUTE }, o).catch((e) => ({ error: e, packets: [] }))));
    const cols = [{ label: t('col_route') }, { label: '#', cls: 'num' }, { label: t('col_port'), cls: 'hide-sm' }, { label: t('col_to') },
      { label: t('col_state') }, { label: t('col_settled'), cls: 'num hide-sm' }, { label: t('col_detail'), cls: 'hide-sm' }];
    const rows = [];
    pages.forEach((page, i) => {
      const r = shown[i];
      for (const p of page.packets) {
        const detail = p.outcome?.ack_error || p.outcome?.app_error || (p.state === 'sent' ? t('waiting_ack') : '');
        const tr = [
          h('span', { class: 'mono' }, r.id),
          h('span', { 'data-sequence': p.sequence }, fmtNum(p.sequence)),
          r.port,
          peerOf(r),
          packetState(p),
          p.outcome ? link(hrefs.block(chain, p.outcome.height), `#${fmtNum(p.outcome.height)}`) : '—',
          h('span', { class: 'small muted' }, detail),
        ];
        rows.push(tr);
      }
    });
    const errors = pages.filter((p) => p.error);
    replace(packetsBody,
      h('p', { class: 'muted small' }, t('xchain_packets_help', { n: PACKETS_PER_ROUTE })),
      table(cols, rows, { id: 'xchain-packets-table', empty: t('no_packets') }),
      errors.length ? errorBox(errors[0].error) : null);
  };
  await renderPackets().catch((e) => { if (!ctx.signal.aborted) replace(packetsBody, errorBox(e)); });

  // Follow the packets: each new block of the chain may settle some.
  let busy = false;
  let last = Date.now();
  ctx.onLive(async (ev) => {
    if (ev.type !== 'block' || ev.chain !== chain || busy || Date.now() - last < 2000) return;
    busy = true;
    last = Date.now();
    try {
      await renderPackets();
    } catch { /* next block */ } finally {
      busy = false;
    }
  });
}

// attestationLookup is the form that asks this chain what another chain answered about a
// digest, and, when the page's query names one, the answer (?digest=, and ?source= or
// ?route= for the answering chain).
function attestationLookup(chain, peers, ctx, peerOfRoute) {
  const source = ctx.query.get('source') || peerOfRoute(ctx.query.get('route') || '') || peers[0] || '';
  const digest = (ctx.query.get('digest') || '').trim().replace(/^0[xX]/, '');
  const sel = h('select', { id: 'att-source', name: 'source', 'aria-label': t('source_chain') },
    (peers.length ? peers : [source]).filter(Boolean).map((p) => h('option', { value: p, selected: p === source ? true : null }, p)));
  const input = h('input', { type: 'text', id: 'att-digest', name: 'digest', value: digest, placeholder: t('digest_placeholder'), spellcheck: 'false', autocomplete: 'off', class: 'mono' });
  const form = h('form', { class: 'inline-form', id: 'att-form' },
    h('label', {}, t('source_chain'), ' ', sel), ' ', input, ' ', h('button', { type: 'submit', class: 'btn btn-primary' }, t('look_up')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ source: sel.value, digest: input.value.trim() });
    ctx.navigate(`${hrefs.xchain(chain)}?${q}`, { replace: true });
  });
  const result = h('div', { id: 'att-result' });
  const body = h('div', {}, h('p', { class: 'muted small' }, t('xchain_attest_help')), form, result);
  if (digest) showAttestation(result, chain, sel.value || source, digest, ctx);
  return card(t('xchain_attestations'), body, { id: 'xchain-attestations' });
}

async function showAttestation(el, chain, source, digest, ctx) {
  if (!/^[0-9A-Fa-f]{64}$/.test(digest)) {
    replace(el, h('div', { class: 'alert alert-error' }, t('bad_digest')));
    return;
  }
  replace(el, spinner());
  let text;
  let res;
  let proofError = null;
  try {
    try {
      text = await api.xAttestationText(chain, source, digest, { signal: ctx.signal });
      res = JSON.parse(text);
    } catch (e) {
      // No proof yet (the block that carries the answer's app hash is not made): show the
      // answer unproven.
      if (e.status !== 503) throw e;
      proofError = e.message;
      res = await api.xAttestation(chain, source, digest, { signal: ctx.signal });
    }
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404) {
      replace(el, h('div', { class: 'alert alert-warn', 'data-found': 'none' }, t('no_attestation', { source, chain })));
      return;
    }
    replace(el, errorBox(e));
    return;
  }
  const a = res.attestation;
  const rec = a.record;
  const known = ctx.live.chainIds().includes(a.chain_id);
  const proofEl = h('div', { class: 'proof proof-pending', 'data-verified': 'pending' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), t('proof_checking'));
  replace(el, h('div', { class: ['alert', a.found ? 'alert-ok' : 'alert-warn'], 'data-found': String(a.found) },
    a.found ? t('attested_found', { source: a.chain_id }) : t('attested_not_found', { source: a.chain_id })),
  kv([
    [t('digest'), mono(a.digest, { full: true })],
    [t('source_chain'), a.chain_id],
    [t('anchored_on_source'), rec ? h('span', {}, known ? link(hrefs.block(a.chain_id, rec.height), `#${fmtNum(rec.height)}`) : `#${fmtNum(rec.height)}`, ' · ', timeEl(rec.time, { absolute: true })) : null],
    [t('label'), rec?.label || null],
    [t('submitter'), rec ? h('span', {}, known ? addressLink(a.chain_id, rec.submitter) : rec.submitter, ' · ', known ? orgLink(a.chain_id, rec.org) : rec.org) : null],
    [t('proof_height'), h('span', { 'data-field': 'proof-height' }, `${a.chain_id} #${fmtNum(a.proof_height)}`)],
    [t('packet'), h('span', { class: 'mono' }, `${a.route}/${a.sequence}`)],
    [t('requester'), addressLink(chain, a.requester)],
    [t('stored_at'), h('span', {}, link(hrefs.block(chain, a.height), `#${fmtNum(a.height)}`), ' · ', timeEl(a.time, { absolute: true }))],
  ]),
  proofEl,
  h('p', { class: 'muted small' }, t('attestation_trust_note', { source: a.chain_id, chain })));
  // The proof that this chain holds the answer, checked here by the WebAssembly verifier.
  let check;
  try {
    if (proofError) throw new Error(proofError);
    await verifier.ready();
    check = await verifier.verifyAttestation(chain, source, digest, text);
  } catch (e) {
    check = { ok: false, error: e.message };
  }
  if (ctx.signal.aborted) return;
  replace(proofEl, proofSummary(ctx, chain, check, () => showAttestation(el, chain, source, digest, ctx)));
  proofEl.className = `proof ${check.ok ? 'proof-ok' : 'proof-bad'}`;
  proofEl.dataset.verified = check.ok ? 'true' : 'false';
  if (check.ok) proofEl.dataset.signers = `${check.verified.signers}/${check.verified.validator_count}`;
}
