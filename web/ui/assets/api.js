// The gateway's /v1 routes, read from the page's own origin.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;
const DEFAULT_TIMEOUT = 20000;

// get fetches a JSON document; a non-2xx answer throws an ApiError with the gateway's
// {code, message}. signal aborts it (the page was left).
export async function get(path, { signal, timeout = DEFAULT_TIMEOUT } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new ApiError(0, 'timeout', `no answer within ${timeout / 1000} s`)), timeout);
  const onAbort = () => ctl.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let res;
  try {
    res = await fetch(path, { signal: ctl.signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (ctl.signal.reason instanceof ApiError) throw ctl.signal.reason;
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `the gateway did not answer: ${e.message || e}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new ApiError(res.status, 'malformed', `the answer of ${path} is not JSON`);
  }
  if (!res.ok) {
    throw new ApiError(res.status, body?.code || `http_${res.status}`, body?.message || `${res.status} ${res.statusText}`);
  }
  return body;
}

// getText fetches a document as text, as it came (for the proof verifier: the record
// must be the exact bytes the gateway sent).
export async function getText(path, { signal, timeout = DEFAULT_TIMEOUT } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  const onAbort = () => ctl.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await fetch(path, { signal: ctl.signal, headers: { Accept: 'application/json' } });
    const text = await res.text();
    if (!res.ok) {
      let body = null;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      throw new ApiError(res.status, body?.code || `http_${res.status}`, body?.message || `${res.status} ${res.statusText}`);
    }
    return text;
  } catch (e) {
    if (e instanceof ApiError || (e?.name === 'AbortError' && signal?.aborted)) throw e;
    throw new ApiError(0, 'network', `the gateway did not answer: ${e.message || e}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const c = (chain) => `/v1/chains/${enc(chain)}`;

export const api = {
  chains: (o) => all((cursor) => get(`/v1/chains${query({ cursor })}`, o), 'chains'),
  block: (chain, height, o) => get(`${c(chain)}/blocks/${enc(height)}`, o),
  blocks: (chain, p, o) => get(`${c(chain)}/blocks${query(p)}`, o),
  signatures: (chain, height, o) => get(`${c(chain)}/blocks/${enc(height)}/signatures`, o),
  tx: (chain, hash, o) => get(`${c(chain)}/txs/${enc(hash)}`, o),
  account: (chain, addr, o) => get(`${c(chain)}/accounts/${enc(addr)}`, o),
  accountTxs: (chain, addr, p, o) => get(`${c(chain)}/accounts/${enc(addr)}/txs${query(p)}`, o),
  evidenceText: (chain, digest, o) => getText(`${c(chain)}/evidence/${enc(digest)}?prove=true`, o),
  govParams: (chain, o) => get(`${c(chain)}/gov/params`, o),
  consensusParams: (chain, o) => get(`${c(chain)}/consensus-params`, o),
  proposals: (chain, p, o) => get(`${c(chain)}/gov/proposals${query(p)}`, o),
  proposal: (chain, id, o) => get(`${c(chain)}/gov/proposals/${enc(id)}`, o),
  creditParams: (chain, o) => get(`${c(chain)}/credits/params`, o),
  balance: (chain, holder, o) => get(`${c(chain)}/credits/balances/${enc(holder)}`, o),
  sponsorship: (chain, org, o) => get(`${c(chain)}/credits/sponsorships/${enc(org)}`, o),
  statement: (chain, holder, p, o) => get(`${c(chain)}/credits/statements/${enc(holder)}${query(p)}`, o),
  validators: (chain, o) => all((cursor) => get(`${c(chain)}/validators${query({ cursor })}`, o), 'validators'),
  orgs: (chain, o) => all((cursor) => get(`${c(chain)}/orgs${query({ cursor })}`, o), 'orgs'),
  orgTxs: (chain, org, p, o) => get(`${c(chain)}/orgs/${enc(org)}/txs${query(p)}`, o),
  search: (q, o) => get(`/v1/search${query({ q })}`, o),
  xClients: (chain, o) => all((cursor) => get(`${c(chain)}/xchain/clients${query({ cursor })}`, o), 'clients'),
  xRoutes: (chain, o) => all((cursor) => get(`${c(chain)}/xchain/routes${query({ cursor })}`, o), 'routes'),
  xPackets: (chain, route, p, o) => get(`${c(chain)}/xchain/routes/${enc(route)}/packets${query(p)}`, o),
  xPacket: (chain, route, seq, o) => get(`${c(chain)}/xchain/routes/${enc(route)}/packets/${enc(seq)}`, o),
  xAttestation: (chain, source, digest, o) => get(`${c(chain)}/xchain/attestations/${enc(source)}/${enc(digest)}`, o),
  xAttestationText: (chain, source, digest, o) => getText(`${c(chain)}/xchain/attestations/${enc(source)}/${enc(digest)}?prove=true`, o),
};

// all reads every page of a list route: page(cursor) fetches one, key names its list.
export async function all(page, key, maxPages = 50) {
  const out = [];
  let cursor;
  for (let i = 0; i < maxPages; i++) {
    const res = await page(cursor);
    out.push(...(res[key] || []));
    if (!res.next) return { ...res, [key]: out };
    cursor = res.next;
  }
  throw new ApiError(0, 'too_long', `more than ${maxPages} pages of ${key}`);
}

// Committed transactions never change: keep the ones read.
const txCache = new Map();
export async function txCached(chain, hash, o) {
  const key = `${chain}/${hash.toUpperCase()}`;
  if (txCache.has(key)) return txCache.get(key);
  const tx = await api.tx(chain, hash, o);
  if (txCache.size > 500) txCache.delete(txCache.keys().next().value);
  txCache.set(key, tx);
  return tx;
}

// directory caches each chain's validators and organisations for a short while, to name
// the organisation behind a validator address or an account.
const dirCache = new Map();
const DIR_TTL = 15000;
export async function directory(chain, o) {
  const hit = dirCache.get(chain);
  if (hit && Date.now() - hit.at < DIR_TTL) return hit.value;
  const [vals, orgs] = await Promise.all([api.validators(chain, o), api.orgs(chain, o)]);
  const byAddress = new Map(vals.validators.map((v) => [v.address.toUpperCase(), v]));
  const orgById = new Map(orgs.orgs.map((x) => [x.id, x]));
  const value = { validators: vals.validators, totalPower: vals.total_power, byAddress, orgs: orgs.orgs, orgById };
  dirCache.set(chain, { at: Date.now(), value });
  return value;
}
