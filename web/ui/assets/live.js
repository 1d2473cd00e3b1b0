// Live updates: the event stream of each chain (GET /v1/chains/{chain}/events, Server-Sent
// Events) when the gateway serves it, else polling GET /v1/chains. Listeners get:
//
//   {type: 'chains', chains}                      every answer of /v1/chains
//   {type: 'block', chain, height, time, hash, numTxs, source: 'sse'|'poll'}
//   {type: 'txs', chain, height, time, txs: [{hash, index, code, code_name, events}]}  (stream only)
//   {type: 'mode'}                                a chain switched between stream and polling
//   {type: 'status', ok, error}                   the gateway answered (or not)

import { api } from './api.js';

const POLL_FAST = 2000; // without a stream
const POLL_SLOW = 15000; // with streams: only the chain list's other fields
const POLL_HIDDEN = 30000; // the tab is in the background
const STREAM_RETRY = 30000; // after a stream could not be opened
// MAX_STREAMS bounds the streams one page opens: a browser keeps at most 6 HTTP/1.1
// connections to a host, and the page needs some for its requests.
const MAX_STREAMS = 3;

export class Live {
  constructor() {
    this.listeners = new Set();
    this.chains = new Map(); // id → {info, height, mode, es, retry, pending}
    this.ids = [];
    this.timer = null;
    this.ok = null;
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.pollNow();
    });
    // A page left for another keeps no stream open (a browser has few connections per
    // host, and a page with open streams may stay in its back-forward cache); one shown
    // again from that cache opens them again.
    window.addEventListener('pagehide', () => this.closeStreams());
    window.addEventListener('pageshow', (e) => {
      if (!e.persisted) return;
      this.ids.slice(0, MAX_STREAMS).forEach((id) => this.openStream(id));
      this.pollNow();
    });
  }

  closeStreams() {
    for (const st of this.chains.values()) {
      clearTimeout(st.retry);
      if (st.es) {
        st.es.close();
        st.es = null;
        st.mode = 'poll';
      }
    }
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(ev) {
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch (e) {
        console.error('live listener', e);
      }
    }
  }

  // start reads the chain list once (resolving with it) and keeps following.
  async start() {
    await this.poll();
    this.schedule();
    return this.ids;
  }

  pollNow() {
    clearTimeout(this.timer);
    this.poll().finally(() => this.schedule());
  }

  schedule() {
    clearTimeout(this.timer);
    const polling = this.ids.some((id) => this.chains.get(id).mode !== 'sse');
    const wait = document.hidden ? POLL_HIDDEN : polling ? POLL_FAST : POLL_SLOW;
    this.timer = setTimeout(() => this.poll().finally(() => this.schedule()), wait);
  }

  async poll() {
    let res;
    try {
      res = await api.chains({ timeout: 10000 });
    } catch (error) {
      this.ok = false;
      this.emit({ type: 'status', ok: false, error });
      return;
    }
    this.ok = true;
    this.emit({ type: 'status', ok: true });
    for (const info of res.chains) {
      let st = this.chains.get(info.id);
      if (!st) {
        st = { info, height: 0, mode: 'poll', es: null, retry: null, pending: [] };
        this.chains.set(info.id, st);
        this.ids.push(info.id);
        if (this.ids.length <= MAX_STREAMS) this.openStream(info.id);
      }
      st.info = info;
      if (info.latest_height > st.height) {
        st.height = info.latest_height;
        if (st.mode !== 'sse') {
          this.emit({ type: 'block', chain: info.id, height: info.latest_height, time: info.latest_block_time, source: 'poll' });
        }
      }
    }
    this.emit({ type: 'chains', chains: res.chains });
  }

  openStream(id) {
    if (typeof EventSource === 'undefined') return;
    const st = this.chains.get(id);
    clearTimeout(st.retry);
    if (st.es) return;
    const es = new EventSource(`/v1/chains/${encodeURIComponent(id)}/events`);
    st.es = es;
    const setMode = (mode) => {
      if (st.mode !== mode) {
        st.mode = mode;
        this.emit({ type: 'mode', chain: id, mode });
        this.schedule();
      }
    };
    es.onopen = () => setMode('sse');
    es.addEventListener('tx', (e) => {
      const m = parse(e.data);
      if (!m?.tx) return;
      let tx = st.pending.find((x) => x.hash === m.tx.hash);
      if (!tx) {
        tx = { hash: m.tx.hash, index: m.tx.index, code: m.tx.code, code_name: m.tx.code_name, height: m.height, time: m.time, events: [] };
        st.pending.push(tx);
      }
      if (m.event) tx.events.push(m.event);
    });
    es.addEventListener('block', (e) => {
      const m = parse(e.data);
      if (!m) return;
      const txs = st.pending.filter((x) => x.height === m.height);
      st.pending = st.pending.filter((x) => x.height > m.height);
      if (txs.length) this.emit({ type: 'txs', chain: id, height: m.height, time: m.time, txs });
      if (m.height > st.height) st.height = m.height;
      this.emit({ type: 'block', chain: id, height: m.height, time: m.time, hash: m.block?.hash, numTxs: m.block?.num_txs, source: 'sse' });
    });
    es.onerror = (e) => {
      // An "error" message of the stream ends it; a failed connection either closes the
      // source (the route is missing or refused) or is retried by the browser.
      if (e.data !== undefined) es.close();
      if (es.readyState === EventSource.CLOSED) {
        st.es = null;
        setMode('poll');
        st.retry = setTimeout(() => this.openStream(id), STREAM_RETRY);
      } else {
        setMode('reconnecting');
      }
    };
  }

  // mode summarises how the page is kept up to date: 'sse', 'poll' or 'mixed'.
  mode() {
    const modes = new Set(this.ids.map((id) => this.chains.get(id).mode === 'sse' ? 'sse' : 'poll'));
    if (modes.size === 1) return [...modes][0];
    return modes.size ? 'mixed' : 'poll';
  }

  chainIds() {
    return [...this.ids];
  }

  info(id) {
    return this.chains.get(id)?.info;
  }
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}
