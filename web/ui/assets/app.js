// The explorer's shell: header, router, live updates.

import { t, getLang, setLang, onLangChange } from './i18n.js';
import { h, replace, spinner, errorBox, notFound, refreshAgo } from './dom.js';
import { Live } from './live.js';
import { overviewPage } from './pages/overview.js';
import { blocksPage, blockPage } from './pages/blocks.js';
import { txPage } from './pages/tx.js';
import { accountPage } from './pages/account.js';
import { orgsPage, orgPage } from './pages/org.js';
import { govPage, proposalPage } from './pages/gov.js';
import { verifyPage, evidencePage } from './pages/verify.js';
import { searchPage, resolveSearch } from './pages/search.js';
import { xchainPage } from './pages/xchain.js';

const live = new Live();
const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const footer = document.getElementById('footer');

// The chain the chain-specific pages open by default: the last one visited.
export function currentChain() {
  const ids = live.chainIds();
  const saved = localStorage.getItem('lian.chain');
  return ids.includes(saved) ? saved : ids[0] || '';
}

function rememberChain(chain) {
  if (live.chainIds().includes(chain)) localStorage.setItem('lian.chain', chain);
}

const HEX64 = '([0-9A-Fa-f]{64})';
const CHAIN = '([^/]+)';
const routes = [
  [/^\/$/, () => overviewPage],
  [new RegExp(`^/blocks/${CHAIN}$`), () => blocksPage],
  [new RegExp(`^/block/${CHAIN}/(\\d+)$`), () => blockPage],
  [new RegExp(`^/tx/${CHAIN}/${HEX64}$`), () => txPage],
  [new RegExp(`^/account/${CHAIN}/(0[xX][0-9A-Fa-f]{40})$`), () => accountPage],
  [new RegExp(`^/org/${CHAIN}$`), () => orgsPage],
  [new RegExp(`^/org/${CHAIN}/([a-z0-9-]{1,32})$`), () => orgPage],
  [new RegExp(`^/gov/${CHAIN}$`), () => govPage],
  [new RegExp(`^/gov/${CHAIN}/(\\d+)$`), () => proposalPage],
  [new RegExp(`^/evidence/${CHAIN}/${HEX64}$`), () => evidencePage],
  [new RegExp(`^/xchain/${CHAIN}$`), () => xchainPage],
  [/^\/verify\/?$/, () => verifyPage],
  [/^\/search\/?$/, () => searchPage],
];
// Sections without a chain open the current chain's page.
const chainSections = ['blocks', 'org', 'gov', 'xchain'];

let page = null; // {controller, cleanups}

export function navigate(href, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  render();
  if (!rep) window.scrollTo(0, 0);
}

function leave() {
  if (!page) return;
  page.controller.abort();
  for (const fn of page.cleanups) {
    try { fn(); } catch (e) { console.error(e); }
  }
  page = null;
}

async function render() {
  leave();
  const path = decodeURI(location.pathname);
  const section = path.split('/')[1];
  if (chainSections.includes(section) && path.replace(/\/$/, '') === `/${section}` && currentChain()) {
    history.replaceState(null, '', `/${section}/${encodeURIComponent(currentChain())}`);
    return render();
  }
  renderHeader();
  const controller = new AbortController();
  const cleanups = [];
  page = { controller, cleanups };
  let match = null;
  let fn = null;
  for (const [re, get] of routes) {
    match = path.match(re);
    if (match) {
      fn = get();
      break;
    }
  }
  main.dataset.page = fn ? fn.name : 'notfound';
  if (!fn) {
    replace(main, notFound(t('no_such_page', { path })));
    document.title = `${t('not_found_title')} · ${t('app_title')}`;
    return;
  }
  const params = match.slice(1).map((p) => decodeURIComponent(p));
  const chain = params[0];
  if (chain && fn !== searchPage && fn !== verifyPage && fn !== overviewPage) {
    if (!live.chainIds().includes(chain)) {
      replace(main, notFound(t('unknown_chain', { chain, chains: live.chainIds().join(', ') })));
      return;
    }
    rememberChain(chain);
    renderHeader();
  }
  const ctx = {
    params,
    query: new URLSearchParams(location.search),
    live,
    signal: controller.signal,
    onCleanup: (f) => cleanups.push(f),
    // onLive subscribes to live updates for as long as the page is shown.
    onLive: (f) => cleanups.push(live.on(f)),
    setTitle: (s) => { document.title = `${s} · ${t('app_title')}`; },
    navigate,
    currentChain,
  };
  replace(main, spinner());
  try {
    await fn(main, ctx);
  } catch (e) {
    if (controller.signal.aborted) return;
    console.error(e);
    replace(main, errorBox(e, { retry: () => render() }));
  }
}

function navLink(href, label, active) {
  return h('a', { href, 'data-link': true, class: active ? 'active' : null, 'aria-current': active ? 'page' : null }, label);
}

function renderHeader() {
  const section = location.pathname.split('/')[1] || '';
  const chain = currentChain();
  const q = section === 'search' ? new URLSearchParams(location.search).get('q') || '' : '';
  const input = h('input', { type: 'search', id: 'search-input', name: 'q', value: q, placeholder: t('search_placeholder'), 'aria-label': t('search'), autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'search', role: 'search', id: 'search-form', action: '/search', method: 'get' }, input, h('button', { type: 'submit', class: 'btn btn-primary' }, t('search')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    input.disabled = true;
    try {
      const target = await resolveSearch(value);
      navigate(target);
    } finally {
      input.disabled = false;
    }
  });
  const langBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'lang-toggle', title: t('switch_language'), lang: getLang() === 'zh' ? 'en' : 'zh-CN' }, getLang() === 'zh' ? 'EN' : '中文');
  langBtn.addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  replace(topbar, h('div', { class: 'wrap topbar-inner' },
    h('a', { href: '/', 'data-link': true, class: 'brand' }, h('img', { src: '/assets/favicon.svg', alt: '', width: 28, height: 28 }), h('span', { class: 'brand-name' }, 'Lian ', h('span', { class: 'brand-cn' }, '链')), h('span', { class: 'brand-sub' }, t('explorer'))),
    h('nav', { class: 'mainnav', 'aria-label': t('main_navigation') },
      navLink('/', t('nav_overview'), section === ''),
      navLink(chain ? `/blocks/${encodeURIComponent(chain)}` : '/blocks', t('nav_blocks'), section === 'blocks' || section === 'block' || section === 'tx'),
      navLink(chain ? `/org/${encodeURIComponent(chain)}` : '/org', t('nav_orgs'), section === 'org' || section === 'account'),
      navLink(chain ? `/gov/${encodeURIComponent(chain)}` : '/gov', t('nav_gov'), section === 'gov'),
      navLink(chain ? `/xchain/${encodeURIComponent(chain)}` : '/xchain', t('nav_xchain'), section === 'xchain'),
      navLink('/verify', t('nav_verify'), section === 'verify' || section === 'evidence')),
    form,
    h('div', { class: 'tools' }, liveIndicator(), langBtn)));
}

function liveIndicator() {
  const el = h('span', { class: 'live', id: 'live-indicator', role: 'status' });
  updateIndicator(el);
  return el;
}

function updateIndicator(el = document.getElementById('live-indicator')) {
  if (!el) return;
  let cls = 'live-poll';
  let text = t('live_poll');
  if (live.ok === false) {
    cls = 'live-down';
    text = t('live_down');
  } else if (live.mode() === 'sse') {
    cls = 'live-sse';
    text = t('live_sse');
  } else if (live.mode() === 'mixed') {
    text = t('live_mixed');
  }
  el.className = `live ${cls}`;
  el.dataset.mode = live.ok === false ? 'down' : live.mode();
  el.title = t('live_title');
  replace(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'live-text' }, text));
}

function renderFooter() {
  replace(footer,
    h('span', {}, t('footer_text')),
    h('span', { class: 'footer-links' },
      h('a', { href: '/v1/chains' }, 'API'), ' · ',
      h('a', { href: '/healthz' }, t('health'))));
}

// In-app links: the router handles clicks on <a data-link>.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[data-link]');
  if (!a || a.target || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search + a.hash);
});
window.addEventListener('popstate', () => render());

onLangChange(() => {
  renderFooter();
  render();
});
live.on((ev) => {
  if (ev.type === 'mode' || ev.type === 'status' || ev.type === 'chains') updateIndicator();
});
setInterval(() => refreshAgo(main), 1000);

async function boot() {
  document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
  renderFooter();
  renderHeader();
  try {
    await live.start();
  } catch (e) {
    replace(main, errorBox(e, { retry: () => location.reload() }));
    return;
  }
  if (!live.ok) {
    // The gateway did not answer the chain list: keep trying, show why.
    replace(main, errorBox(new Error(t('gateway_unreachable')), { retry: () => location.reload() }));
    const off = live.on((ev) => {
      if (ev.type === 'chains') {
        off();
        render();
      }
    });
    return;
  }
  render();
}

boot();

