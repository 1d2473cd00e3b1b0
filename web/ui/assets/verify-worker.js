// The explorer's verifier worker: Lian's Go verifier compiled to WebAssembly
// (verify.wasm, from web/wasm) runs here, off the page's thread. Messages:
//
//   {id, op: 'init'}                                   → {goVersion}
//   {id, op: 'hash', file}                             → {sha256, sm3, size, sha256Impl}, with {id, progress} on the way
//   {id, op: 'verify', chain, digest, evidence, trust, source}            → the verifier's result
//   {id, op: 'verifyInclusion', chain, inclusion, evidence, trust, source} → the verifier's result
//   {id, op: 'verifyAttestation', chain, sourceChain, digest, attestation, trust, source} → the verifier's result
//   {id, op: 'parseTrust' | 'parseInclusion', text}    → {ok, value | error}
/* global Go, lianVerifier */
'use strict';

importScripts('/assets/wasm_exec.js');

const CHUNK = 4 << 20;
// WebCrypto digests a whole buffer: beyond this size the file is streamed through the
// Go implementation instead.
const WEBCRYPTO_MAX = 1 << 30;

let ready = null;

function init() {
  if (!ready) {
    ready = (async () => {
      const go = new Go();
      let inst;
      try {
        inst = await WebAssembly.instantiateStreaming(fetch('/assets/verify.wasm'), go.importObject);
      } catch (e) {
        // A proxy that changed the content type: compile from the bytes.
        const res = await fetch('/assets/verify.wasm');
        if (!res.ok) throw new Error(`verify.wasm: ${res.status} ${res.statusText}`);
        inst = await WebAssembly.instantiate(await res.arrayBuffer(), go.importObject);
      }
      go.run(inst.instance);
      if (typeof lianVerifier === 'undefined') throw new Error('the WebAssembly verifier did not start');
      return { goVersion: lianVerifier.goVersion };
    })();
    ready.catch(() => { ready = null; });
  }
  return ready;
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

async function hashFile(id, file) {
  const sm3 = lianVerifier.hashNew('sm3');
  const progress = (done) => postMessage({ id, progress: file.size ? done / file.size : 1 });
  const webcrypto = self.crypto && self.crypto.subtle && file.size <= WEBCRYPTO_MAX;
  if (webcrypto) {
    const buf = await file.arrayBuffer();
    const sha = crypto.subtle.digest('SHA-256', buf);
    for (let off = 0; off < buf.byteLength; off += CHUNK) {
      lianVerifier.hashWrite(sm3, new Uint8Array(buf, off, Math.min(CHUNK, buf.byteLength - off)));
      progress(off + CHUNK);
    }
    return { sha256: hex(await sha), sm3: lianVerifier.hashSum(sm3), size: file.size, sha256Impl: 'webcrypto' };
  }
  const sha = lianVerifier.hashNew('sha256');
  for (let off = 0; off < file.size; off += CHUNK) {
    const part = new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer());
    lianVerifier.hashWrite(sha, part);
    lianVerifier.hashWrite(sm3, part);
    progress(off + part.length);
  }
  return { sha256: lianVerifier.hashSum(sha), sm3: lianVerifier.hashSum(sm3), size: file.size, sha256Impl: 'go' };
}

self.onmessage = async (e) => {
  const m = e.data || {};
  try {
    const info = await init();
    let result;
    switch (m.op) {
      case 'init':
        result = info;
        break;
      case 'hash':
        result = await hashFile(m.id, m.file);
        break;
      case 'verify':
        result = JSON.parse(lianVerifier.verify(m.chain, m.digest, m.evidence, m.trust || '', m.source || ''));
        break;
      case 'verifyInclusion':
        result = JSON.parse(lianVerifier.verifyInclusion(m.chain, m.inclusion, m.evidence, m.trust || '', m.source || ''));
        break;
      case 'verifyAttestation':
        result = JSON.parse(lianVerifier.verifyAttestation(m.chain, m.sourceChain, m.digest, m.attestation, m.trust || '', m.source || ''));
        break;
      case 'parseTrust':
        result = JSON.parse(lianVerifier.parseTrust(m.text));
        break;
      case 'parseInclusion':
        result = JSON.parse(lianVerifier.parseInclusion(m.text));
        break;
      default:
        throw new Error(`unknown operation ${m.op}`);
    }
    postMessage({ id: m.id, ok: true, result });
  } catch (err) {
    postMessage({ id: m.id, ok: false, error: String((err && err.message) || err) });
  }
};
