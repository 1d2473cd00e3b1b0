// The page's side of the verifier worker, and the validator sets this browser trusts.

let worker = null;
let seq = 0;
const pending = new Map();
let readyPromise = null;

function start() {
  worker = new Worker('/assets/verify-worker.js');
  worker.onmessage = (e) => {
    const m = e.data;
    const p = pending.get(m.id);
    if (!p) return;
    if (m.progress !== undefined) {
      p.onProgress?.(Math.min(1, m.progress));
      return;
    }
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  };
  worker.onerror = (e) => {
    const err = new Error(e.message || 'the verifier worker failed');
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker.terminate();
    worker = null;
    readyPromise = null;
  };
}

function call(op, args = {}, onProgress) {
  if (!worker) start();
  const id = ++seq;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, ...args });
  });
}

// ready loads the WebAssembly verifier (once) and resolves with {goVersion}.
export function ready() {
  if (!readyPromise) {
    readyPromise = call('init');
    readyPromise.catch(() => { readyPromise = null; });
  }
  return readyPromise;
}

export const hashFile = (file, onProgress) => call('hash', { file }, onProgress);
export const parseTrust = (text) => call('parseTrust', { text });
export const parseInclusion = (text) => call('parseInclusion', { text });

// verify checks the proof of the evidence document (the gateway's answer, as text)
// against the validator set this browser trusts for the chain, and updates that trust:
// the first check pins the set that signed (trust on first use), a check that reached a
// later set through the trusted one moves the trust on.
export async function verify(chain, digest, evidenceText) {
  const stored = loadTrust(chain);
  const res = await call('verify', { chain, digest, evidence: evidenceText, trust: stored ? JSON.stringify(stored.trust) : '', source: location.origin });
  return settleTrust(chain, stored, res);
}

export async function verifyInclusion(chain, inclusionText, rootEvidenceText) {
  const stored = loadTrust(chain);
  const res = await call('verifyInclusion', { chain, inclusion: inclusionText, evidence: rootEvidenceText, trust: stored ? JSON.stringify(stored.trust) : '', source: location.origin });
  return settleTrust(chain, stored, res);
}

// verifyAttestation checks the proof that chain stores sourceChain's answer about the
// digest (the gateway's answer to …/xchain/attestations/…?prove=true, as text), with the
// trust of verify.
export async function verifyAttestation(chain, sourceChain, digest, attestationText) {
  const stored = loadTrust(chain);
  const res = await call('verifyAttestation', { chain, sourceChain, digest, attestation: attestationText, trust: stored ? JSON.stringify(stored.trust) : '', source: location.origin });
  return settleTrust(chain, stored, res);
}

function settleTrust(chain, stored, res) {
  res.trustInfo = stored ? { how: stored.how, at: stored.at } : null;
  if (res.ok && res.trust_candidate) {
    saveTrust(chain, res.trust_candidate, 'tofu');
    res.trustInfo = { how: 'tofu-new', at: new Date().toISOString() };
  } else if (res.ok && res.new_trust) {
    saveTrust(chain, res.new_trust, 'advanced');
  }
  return res;
}

const key = (chain) => `lian.trust.${chain}`;

export function loadTrust(chain) {
  try {
    const v = JSON.parse(localStorage.getItem(key(chain)) || 'null');
    return v && v.trust && v.trust.chain_id === chain ? v : null;
  } catch {
    return null;
  }
}

export function saveTrust(chain, trust, how) {
  localStorage.setItem(key(chain), JSON.stringify({ trust, how, at: new Date().toISOString() }));
}

export function forgetTrust(chain) {
  localStorage.removeItem(key(chain));
}
