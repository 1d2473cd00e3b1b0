// Evidence verification: a document dropped on the page is hashed in the browser
// (SHA-256 with WebCrypto, SM3 with Lian's Go code in WebAssembly), looked up on every
// chain, and its record's proof is checked in the browser by Lian's Go verifier compiled
// to WebAssembly: the ICS-23 proof against the app hash of the next block's header, and
// the signatures of more than 2/3 of the voting power on that header. Nothing of the
// document leaves the browser; only its digests are sent to the gateway.

import { t, fmtNum, fmtBytes, fmtTime } from '../i18n.js';
import { h, replace, append, link, mono, kv, card, timeEl, pageHead, errorBox, badge } from '../dom.js';
import { api } from '../api.js';
import { hrefs, addressLink, orgLink, chainTag } from '../components.js';
import * as verifier from '../verifier.js';

const MAX_JSON = 4 << 20; // a proof or trust file is small; larger JSON is a document

export async function verifyPage(main, ctx) {
  ctx.setTitle(t('nav_verify'));
  const input = h('input', { type: 'file', id: 'file-input', multiple: true, class: 'file-input' });
  const zone = h('label', { class: 'dropzone', id: 'dropzone', for: 'file-input' },
    h('span', { class: 'dropzone-icon', 'aria-hidden': 'true' }, '⇩'),
    h('strong', {}, t('drop_title')),
    h('span', { class: 'muted' }, t('drop_sub')),
    h('span', { class: 'btn btn-primary' }, t('choose_files')),
    input);
  const digestIn = h('input', { type: 'text', id: 'digest-input', placeholder: t('digest_placeholder'), spellcheck: 'false', autocomplete: 'off', pattern: '(0x)?[0-9A-Fa-f]{64}' });
  const digestForm = h('form', { class: 'inline-form', id: 'digest-form' }, digestIn, h('button', { type: 'submit', class: 'btn' }, t('check_digest')));
  const status = h('p', { class: 'muted small', id: 'verifier-status' }, t('verifier_loading'));
  const results = h('div', { id: 'verify-results', class: 'results' });
  const trustEl = h('div', { id: 'trust-list' });

  replace(main,
    pageHead(t('verify_title'), t('verify_sub')),
    h('div', { class: 'grid-verify' },
      h('div', {}, zone, h('div', { class: 'or' }, t('or')), digestForm, status),
      card(t('how_it_works'), h('ol', { class: 'how small' },
        h('li', {}, t('how_1')), h('li', {}, t('how_2')), h('li', {}, t('how_3')), h('li', {}, t('how_4'))))),
    results,
    card(t('trusted_sets'), trustEl, { actions: h('span', { class: 'muted small' }, t('trusted_sets_hint')) }));

  const renderTrust = () => replace(trustEl, trustList(ctx, renderTrust));
  renderTrust();

  verifier.ready().then(
    (info) => replace(status, t('verifier_ready', { go: info.goVersion || 'Go' })),
    (e) => { replace(status, h('span', { class: 'error-text' }, `${t('verifier_failed')}: ${e.message}`)); });

  const handle = async (files) => {
    replace(results);
    const docs = [];
    const proofs = [];
    for (const f of files) {
      const kind = await classify(f);
      if (kind.type === 'trust') {
        const box = h('div');
        results.append(box);
        const trust = JSON.parse(kind.value);
        verifier.saveTrust(trust.chain_id, trust, 'file');
        replace(box, h('div', { class: 'alert alert-ok' }, t('trust_file_pinned', { chain: trust.chain_id, hash: trust.validators_hash, file: f.name })));
        renderTrust();
      } else if (kind.type === 'inclusion') {
        proofs.push({ file: f, text: kind.value, inc: JSON.parse(kind.value) });
      } else {
        docs.push(f);
      }
    }
    const hashed = [];
    const covered = new Set(proofs.map((p) => String(p.inc.digest).toUpperCase()));
    for (const f of docs) {
      const box = h('div', { class: 'doc-result' });
      results.append(box);
      const d = await checkDocument(ctx, box, f, covered);
      if (d) hashed.push(d);
    }
    for (const p of proofs) {
      const box = h('div', { class: 'doc-result' });
      results.append(box);
      await checkInclusion(ctx, box, p, hashed);
    }
    renderTrust();
  };
  input.addEventListener('change', () => {
    if (input.files.length) handle([...input.files]);
  });
  for (const ev of ['dragenter', 'dragover']) {
    zone.addEventListener(ev, (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
  }
  for (const ev of ['dragleave', 'drop']) zone.addEventListener(ev, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer?.files?.length) handle([...e.dataTransfer.files]);
  });
  digestForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const d = digestIn.value.trim().replace(/^0x/i, '').toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(d)) {
      replace(results, h('div', { class: 'alert alert-error' }, t('digest_invalid')));
      return;
    }
    replace(results);
    const box = h('div', { class: 'doc-result' });
    results.append(box);
    replace(box, h('h2', {}, t('digest'), ' ', mono(d, { full: true })));
    const found = await lookup(ctx, box, [{ algo: null, digest: d }]);
    if (!found) box.append(notAnchored());
    renderTrust();
  });
}

// classify tells a trust file and a batch inclusion proof from a document.
async function classify(file) {
  if (file.size > MAX_JSON || !/\.json$/i.test(file.name)) return { type: 'document' };
  let obj;
  const text = await file.text();
  try {
    obj = JSON.parse(text);
  } catch {
    return { type: 'document' };
  }
  if (obj && typeof obj === 'object' && obj.validators_hash && obj.chain_id) {
    const r = await verifier.parseTrust(text);
    if (r.ok) return { type: 'trust', value: r.value };
  }
  if (obj && typeof obj === 'object' && obj.root && obj.digest && Array.isArray(obj.aunts)) {
    const r = await verifier.parseInclusion(text);
    if (r.ok) return { type: 'inclusion', value: r.value };
  }
  return { type: 'document' };
}

async function checkDocument(ctx, box, file, covered) {
  const bar = h('progress', { max: 1, value: 0 });
  replace(box, h('h2', {}, file.name, ' ', h('span', { class: 'muted small' }, fmtBytes(file.size))), h('p', { class: 'muted small' }, t('hashing')), bar);
  let d;
  try {
    d = await verifier.hashFile(file, (p) => { bar.value = p; });
  } catch (e) {
    replace(box, h('h2', {}, file.name), errorBox(e));
    return null;
  }
  replace(box,
    h('h2', {}, file.name, ' ', h('span', { class: 'muted small' }, fmtBytes(d.size))),
    kv([
      ['SHA-256', h('span', {}, mono(d.sha256, { full: true }), ' ', h('span', { class: 'muted small' }, d.sha256Impl === 'webcrypto' ? t('by_webcrypto') : t('by_go_wasm')))],
      ['SM3', h('span', {}, mono(d.sm3, { full: true }), ' ', h('span', { class: 'muted small' }, t('by_go_wasm')))],
    ], 'kv-compact digests'));
  box.dataset.sha256 = d.sha256;
  const found = await lookup(ctx, box, [{ algo: 'sha256', digest: d.sha256 }, { algo: 'sm3', digest: d.sm3 }]);
  if (!found && (covered.has(d.sha256) || covered.has(d.sm3))) box.append(h('div', { class: 'alert alert-info' }, t('in_batch_below')));
  else if (!found) box.append(notAnchored());
  return d;
}

function notAnchored() {
  return h('div', { class: 'alert alert-info not-anchored', 'data-anchored': 'false' }, h('strong', {}, t('not_anchored')), ' ', t('not_anchored_hint'));
}

// lookup asks every chain for the digests' records and checks the proof of each found.
async function lookup(ctx, box, digests) {
  const ids = ctx.live.chainIds();
  const progress = h('p', { class: 'muted small' }, t('looking_up', { n: ids.length }));
  box.append(progress);
  const asks = [];
  for (const chain of ids) {
    for (const d of digests) {
      asks.push(api.evidenceText(chain, d.digest, { signal: ctx.signal, timeout: 30000 })
        .then((text) => ({ chain, d, text }), (error) => ({ chain, d, error })));
    }
  }
  const answers = await Promise.all(asks);
  progress.remove();
  let found = 0;
  for (const a of answers) {
    if (a.error) {
      if (a.error.status !== 404) box.append(h('div', { class: 'alert alert-error small' }, `${a.chain}: ${a.error.message}`));
      continue;
    }
    found++;
    const slot = h('div');
    box.append(slot);
    await showRecord(ctx, slot, a.chain, a.d.digest, a.text);
  }
  return found;
}

// showRecord renders an anchoring record and the in-browser check of its proof.
export async function showRecord(ctx, slot, chain, digest, text, { inclusion, inclusionText } = {}) {
  let ev;
  try {
    ev = JSON.parse(text);
  } catch (e) {
    replace(slot, errorBox(e));
    return;
  }
  const proofEl = h('div', { class: 'proof proof-pending', 'data-verified': 'pending' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), t('proof_checking'));
  const recordEl = h('div');
  replace(slot, h('section', { class: 'card evidence-card', 'data-chain': chain, 'data-digest': digest },
    h('div', { class: 'card-head' }, h('h2', {}, '✓ ', t(inclusion ? 'anchored_in_batch' : 'anchored_on'), ' ', chainTag(chain))),
    h('div', { class: 'card-body' }, recordEl, proofEl)));
  renderRecord(recordEl, chain, ev.record, inclusion, false);
  let res;
  try {
    res = inclusion
      ? await verifier.verifyInclusion(chain, inclusionText, text)
      : await verifier.verify(chain, digest, text);
  } catch (e) {
    res = { ok: false, error: e.message };
  }
  if (res.ok) renderRecord(recordEl, chain, res.verified.record, inclusion, true);
  replace(proofEl, proofSummary(ctx, chain, res, () => showRecord(ctx, slot, chain, digest, text, { inclusion, inclusionText })));
  proofEl.className = `proof ${res.ok ? 'proof-ok' : 'proof-bad'}`;
  proofEl.dataset.verified = res.ok ? 'true' : 'false';
  if (res.ok) {
    proofEl.dataset.signers = `${res.verified.signers}/${res.verified.validator_count}`;
  }
}

function renderRecord(el, chain, r, inclusion, verified) {
  const meta = (r.metadata || []).length ? kv(r.metadata.map((m) => [m.key, m.value]), 'kv-compact') : null;
  replace(el, kv([
    [inclusion ? t('document_digest') : t('digest'), inclusion ? mono(inclusion.digest, { full: true }) : mono(r.digest, { full: true })],
    [t('hash_algo'), badge((r.hash_algo || '').toUpperCase())],
    [inclusion ? t('batch_position') : null, inclusion ? t('batch_position_detail', { i: fmtNum(inclusion.index + 1), n: fmtNum(inclusion.total) }) : null],
    [inclusion ? t('batch_root') : null, inclusion ? mono(r.digest, { full: true, href: hrefs.evidence(chain, r.digest) }) : null],
    [t('record_kind'), r.kind === 'batch' ? t('kind_batch', { n: fmtNum(r.count) }) : t('kind_document')],
    [t('anchored_at'), h('span', { 'data-field': 'anchored-time' }, timeEl(r.time, { absolute: true }), ' · ', timeEl(r.time))],
    [t('block'), link(hrefs.block(chain, r.height), `#${fmtNum(r.height)}`)],
    [t('label'), r.label || null],
    [t('metadata'), meta],
    [t('submitter'), addressLink(chain, r.submitter)],
    [t('org'), orgLink(chain, r.org)],
    [t('transaction'), r.tx_hash ? mono(r.tx_hash, { href: hrefs.tx(chain, r.tx_hash) }) : null],
  ].filter(([k]) => k !== null)), verified ? null : h('p', { class: 'muted small' }, t('record_unverified')));
}

export function proofSummary(ctx, chain, res, recheck) {
  if (!res.ok) {
    const forget = res.trustInfo ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => { verifier.forgetTrust(chain); recheck(); } }, t('forget_trust')) : null;
    return h('div', {},
      h('strong', { class: 'proof-title' }, '✗ ', t('proof_checked_no')),
      h('p', { class: 'error-text break' }, res.error),
      res.trustInfo ? h('p', { class: 'small' }, t('proof_failed_trust_hint'), ' ', forget) : null);
  }
  const v = res.verified;
  let trust;
  switch (res.trusted) {
    case 'pinned':
      trust = res.trustInfo?.how === 'file' ? t('trust_pinned_file', { at: fmtTime(new Date(res.trustInfo.at)) })
        : t('trust_pinned_tofu', { at: res.trustInfo ? fmtTime(new Date(res.trustInfo.at)) : '' });
      break;
    case 'advanced':
      trust = t('trust_advanced');
      break;
    default:
      trust = t('trust_first_use');
  }
  return h('div', {},
    h('strong', { class: 'proof-title' }, '✓ ', t('proof_checked_yes', { signers: v.signers, validators: v.validator_count })),
    kv([
      [t('voting_power'), t('signed_power', { signed: fmtNum(v.signed_power), total: fmtNum(v.total_power) })],
      [t('proof_what'), t('proof_what_detail', { height: fmtNum(v.height), header: fmtNum(v.header_height) })],
      [t('app_hash'), mono(v.app_hash, { full: true })],
      [t('signed_header'), h('span', {}, link(hrefs.block(chain, v.header_height), `#${fmtNum(v.header_height)}`), ' · ', mono(v.block_hash), ' · ', timeEl(v.block_time, { absolute: true }))],
      [t('validator_set'), h('span', {}, mono(v.validators_hash), ' ', h('span', { class: 'small', 'data-trust': res.trusted }, trust))],
      [t('checked_by'), t('checked_by_detail', { fn: res.attestation ? 'client.VerifyAttestation' : 'client.VerifyEvidenceWithOptions' })],
    ], 'kv-compact'));
}

async function checkInclusion(ctx, box, p, hashed) {
  const inc = p.inc;
  const match = hashed.find((d) => d.sha256 === inc.digest.toUpperCase() || d.sm3 === inc.digest.toUpperCase());
  replace(box, h('h2', {}, p.file.name, ' ', h('span', { class: 'muted small' }, t('inclusion_proof'))),
    kv([
      [t('document_digest'), mono(inc.digest, { full: true })],
      [t('batch_root'), mono(inc.root, { full: true })],
      [t('batch_position'), t('batch_position_detail', { i: fmtNum(inc.index + 1), n: fmtNum(inc.total) })],
      [t('document'), match ? h('span', { class: 'ok-text' }, t('inclusion_doc_matches')) : h('span', { class: 'muted' }, t('inclusion_no_doc'))],
    ], 'kv-compact'));
  const chains = inc.chain_id && ctx.live.chainIds().includes(inc.chain_id) ? [inc.chain_id] : ctx.live.chainIds();
  let found = 0;
  for (const chain of chains) {
    let text;
    try {
      text = await api.evidenceText(chain, inc.root, { signal: ctx.signal, timeout: 30000 });
    } catch (e) {
      if (e.status !== 404) box.append(h('div', { class: 'alert alert-error small' }, `${chain}: ${e.message}`));
      continue;
    }
    found++;
    const slot = h('div');
    box.append(slot);
    await showRecord(ctx, slot, chain, inc.root, text, { inclusion: inc, inclusionText: p.text });
  }
  if (!found) append(box, notAnchored());
}

// trustList shows the validator sets this browser pinned, per chain.
function trustList(ctx, rerender) {
  const rows = ctx.live.chainIds().map((chain) => {
    const s = verifier.loadTrust(chain);
    return h('div', { class: 'trust-row' },
      chainTag(chain),
      s ? h('span', {}, mono(s.trust.validators_hash), ' ',
        h('span', { class: 'muted small' }, t(`trust_how_${s.how}`, null, s.how), ' · ', fmtTime(new Date(s.at))), ' ',
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => { verifier.forgetTrust(chain); rerender(); } }, t('forget')))
        : h('span', { class: 'muted small' }, t('trust_none')));
  });
  return h('div', {}, rows);
}

export async function evidencePage(main, ctx) {
  const [chain, digestIn] = ctx.params;
  const digest = digestIn.toUpperCase();
  ctx.setTitle(`${t('evidence')} ${digest.slice(0, 10)}… · ${chain}`);
  replace(main, pageHead(t('evidence'), h('span', {}, chain, ' · ', mono(digest, { full: true }))));
  const slot = h('div');
  main.append(slot, h('p', { class: 'small' }, link('/verify', t('verify_another'))));
  let text;
  try {
    text = await api.evidenceText(chain, digest, { signal: ctx.signal, timeout: 30000 });
  } catch (e) {
    if (e.status === 404) {
      replace(slot, h('div', { class: 'alert alert-info', 'data-anchored': 'false' }, t('digest_not_on_chain', { chain })));
      return;
    }
    throw e;
  }
  await showRecord(ctx, slot, chain, digest, text);
}
