/*!
 * citybot chat widget (web_widget/widget.js + widget.css). Plain JS, no dependencies.
 *
 * Owns: the floating chat UI that any page embeds with ONE tag:
 *   <script src="/widget/widget.js" data-endpoint="/api" defer></script>
 *   optional: data-title="…", data-mode="resident" (default) | "staff",
 *   data-csrf-token="…" (sent as X-CSRFToken; the gateway's staff page sets it).
 * Everything renders inside a shadow root on <citybot-widget>; widget.css is loaded from
 * beside this script (no inline <style>, no style attributes: works under the gateway's CSP
 * `style-src 'self'`; only CSSOM `el.style.x = …` is used). No CDN, no web fonts.
 * The visible history lives in sessionStorage (per tab, per endpoint+mode), so the
 * conversation follows the resident across pages of the site; the text size choice
 * (文字サイズ 標準 / 大きく) lives in localStorage.
 *
 * API contract (bot/openapi.yaml; all requests: credentials "same-origin", JSON bodies):
 *   POST {endpoint}/chat   body {"message": "<text>"} or {"choice": "<choice id>"}
 *     200 -> {"messages": [{"text": "…",
 *                           "link": {"url": "…", "title": "…"}, "links": [{…}], (optional)
 *                           "buttons": [{"title": "…", "choice": "c1", "kind": "feedback"}]}]}
 *     4xx with {"error": "…"} -> that text is shown; any other failure -> a Japanese error
 *     message with a 「再送信」 button that repeats the same request.
 *   POST {endpoint}/reset  on 「最初から」; later turns wait for it (failures ignored).
 * Security: server text is only ever set via textContent; links only for http:, https: or
 * root-relative ("/…") URLs, opened with target=_blank rel="noopener noreferrer".
 * Accessibility: role=dialog panel with a focus trap, Esc closes and focus returns to the
 * launcher; the message list is role=log aria-live=polite; every control has a Japanese
 * name; Enter never sends while an IME is composing (compositionstart/end, isComposing,
 * keyCode 229); Shift+Enter is a newline.
 */
(function () {
  'use strict';
  if (window.__citybotWidget) return;
  window.__citybotWidget = true;

  var T = {
    title: '習志野市 AIチャットボット（サンプル）',
    region: 'AIチャットボット',
    staff: '職員用',
    staffNote: '庁内向けの情報で回答します',
    launcher: 'チャットで質問する',
    staffLauncher: '職員用チャットで質問する',
    close: '閉じる',
    reset: '最初から',
    size: '文字サイズ',
    normal: '標準',
    large: '大きく',
    label: '質問を入力',
    placeholder: '例：粗大ごみの出し方',
    send: '送信',
    welcome: 'こんにちは。習志野市のAIチャットボットです（サンプル）。ごみ、手続き、施設などについて、文章で質問してください。',
    staffWelcome: '職員用チャットボットです。庁内の手続き（情報システム、人事・服務、文書、会計など）について質問してください。回答は職員向けの情報です。',
    typing: '回答を作成中です',
    error: '通信に失敗しました。インターネットへの接続を確認して、「再送信」を押してください。',
    server: 'ただいま回答できません。しばらくしてから「再送信」を押してください。',
    retry: '再送信',
    more: '詳しくはこちら',
    newTab: '（新しいタブで開きます）',
    feedback: 'この回答は役に立ちましたか？',
    bot: 'チャットボット：',
    you: 'あなた：',
    log: '会話の履歴',
    note: '※個人情報（氏名・住所など）は入力しないでください。',
    hint: 'Enterで送信、Shift+Enterで改行します。'
  };
  var MAX_LEN = 500, MAX_KEEP = 100, TIMEOUT_MS = 30000;
  var KINDS = ['feedback', 'none', 'menu', 'follow_up', 'handoff'];

  var script = document.currentScript ||
    document.querySelector('script[src$="widget.js"],script[src*="widget.js?"]');
  var attr = function (n) { return script ? script.getAttribute(n) : null; };
  var endpoint = (attr('data-endpoint') || '/api').replace(/\/+$/, '');
  var mode = attr('data-mode') === 'staff' ? 'staff' : 'resident';
  var staff = mode === 'staff';
  var title = attr('data-title') || T.title;
  var welcome = staff ? T.staffWelcome : T.welcome;
  var csrfToken = attr('data-csrf-token') || '';
  var cssHref;
  try { cssHref = new URL('widget.css', script && script.src || location.href).href; } catch (e) { cssHref = 'widget.css'; }

  var KEY = 'citybot:v1:' + endpoint + ':' + mode, SIZE_KEY = 'citybot:v1:text-size';
  var state = load();
  var busy = false, composing = false, gen = 0, pending = null;

  function load() {
    try {
      var s = JSON.parse(sessionStorage.getItem(KEY));
      if (s && Array.isArray(s.msgs)) return { open: !!s.open, msgs: s.msgs };
    } catch (e) { /* storage unavailable or corrupt */ }
    return { open: false, msgs: [] };
  }
  function save() {
    if (state.msgs.length > MAX_KEEP) state.msgs = state.msgs.slice(-MAX_KEEP);
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* ignore */ }
  }
  function getSize() {
    try { return localStorage.getItem(SIZE_KEY) === 'large' ? 'large' : 'normal'; } catch (e) { return 'normal'; }
  }

  // Tiny element builder. Text only ever goes through textContent.
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      var v = props[k];
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'class') el.className = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }
  function icon() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z');
    p.setAttribute('fill', 'currentColor');
    svg.appendChild(p);
    return svg;
  }

  // Only http(s) absolute URLs or root-relative paths become links.
  function safeLink(l) {
    if (!l || typeof l !== 'object' || typeof l.url !== 'string') return null;
    var u = l.url.trim(), href = null;
    if (u.charAt(0) === '/' && !/^\/[\/\\]/.test(u)) href = u; // a path on this site, never //host
    else {
      try {
        var p = new URL(u);
        if (p.protocol === 'http:' || p.protocol === 'https:') href = p.href;
      } catch (e) { /* not an absolute URL */ }
    }
    if (!href) return null;
    var t = typeof l.title === 'string' && l.title.trim() ? l.title : T.more;
    return { url: href, title: t };
  }
  function cleanButtons(b) {
    return (Array.isArray(b) ? b : []).filter(function (x) {
      return x && typeof x.title === 'string' && x.title.trim() &&
        (typeof x.choice === 'string' || typeof x.choice === 'number');
    }).map(function (x) {
      var b = { title: x.title, choice: String(x.choice) };
      if (KINDS.indexOf(x.kind) >= 0) b.kind = x.kind;
      return b;
    });
  }
  function cleanMsg(x) {
    if (!x || typeof x !== 'object') return null;
    var m = { from: 'bot', text: typeof x.text === 'string' ? x.text : '' };
    var l = safeLink(x.link), b = cleanButtons(x.buttons);
    var more = (Array.isArray(x.links) ? x.links : []).map(safeLink).filter(Boolean).slice(0, 1);
    if (l) m.link = l;
    if (more.length) m.links = more;
    if (b.length) m.buttons = b;
    return m.text || l || b.length ? m : null;
  }

  // 15:05 shown, 「午後3時05分」 read out; <time datetime> carries the machine-readable instant.
  function stamp(t) {
    var d = new Date(t);
    if (typeof t !== 'number' || isNaN(d.getTime())) return null;
    var hh = d.getHours(), mm = ('0' + d.getMinutes()).slice(-2);
    return h('time', { class: 'cb-time', datetime: d.toISOString() }, [
      h('span', { 'aria-hidden': 'true', text: ('0' + hh).slice(-2) + ':' + mm }),
      h('span', { class: 'cb-sr', text: (hh < 12 ? '午前' : '午後') + (hh % 12) + '時' + mm + '分' })
    ]);
  }

  // ---- DOM -------------------------------------------------------------------------
  var host = h('citybot-widget');
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var wrap = h('aside', { class: 'cb cb-' + mode, 'aria-label': staff ? T.staff + T.region : T.region });
  wrap.style.display = 'none'; // widget.css shows it (!important) once loaded: no unstyled flash

  var launcher = h('button', {
    type: 'button', class: 'cb-launcher', 'aria-controls': 'cb-panel', 'aria-expanded': 'false',
    'aria-haspopup': 'dialog', onclick: function () { openPanel(true); }
  }, [icon(), h('span', { text: staff ? T.staffLauncher : T.launcher })]);

  var resetBtn = h('button', { type: 'button', class: 'cb-tbtn cb-reset', text: T.reset, onclick: resetChat });
  var closeBtn = h('button', { type: 'button', class: 'cb-hbtn cb-close', text: T.close, onclick: closePanel });
  var sizeBtns = ['normal', 'large'].map(function (s) {
    return h('button', {
      type: 'button', class: 'cb-tbtn cb-size', 'data-size': s, 'aria-pressed': 'false', text: T[s],
      onclick: function () { setSize(s); }
    });
  });
  var log = h('div', {
    class: 'cb-log', role: 'log', 'aria-live': 'polite', 'aria-label': T.log, tabindex: '0'
  });
  var input = h('textarea', {
    id: 'cb-input', class: 'cb-input', rows: '1', maxlength: String(MAX_LEN),
    placeholder: T.placeholder, autocomplete: 'off', enterkeyhint: 'send', 'aria-describedby': 'cb-note'
  });
  var sendBtn = h('button', { type: 'submit', class: 'cb-send', text: T.send });
  var form = h('form', {
    class: 'cb-form', novalidate: true,
    onsubmit: function (e) { e.preventDefault(); sendText(); input.focus(); }
  }, [
    h('label', { for: 'cb-input', class: 'cb-label', text: T.label }),
    h('div', { class: 'cb-row' }, [input, sendBtn]),
    h('p', { id: 'cb-note', class: 'cb-note' }, [
      document.createTextNode(T.note), h('span', { class: 'cb-hint', text: T.hint })
    ])
  ]);
  var panel = h('section', {
    id: 'cb-panel', class: 'cb-panel', role: 'dialog', 'aria-modal': 'true',
    'aria-labelledby': 'cb-title', hidden: true
  }, [
    h('div', { class: 'cb-head' }, [
      h('div', { class: 'cb-top' }, [
        h('div', { class: 'cb-titles' }, [
          staff ? h('p', { class: 'cb-badge', text: T.staff }) : null,
          h('h2', { id: 'cb-title', class: 'cb-title', text: title }),
          staff ? h('p', { class: 'cb-sub', text: T.staffNote }) : null
        ]),
        closeBtn
      ]),
      h('div', { class: 'cb-tools' }, [
        h('div', { class: 'cb-sizes', role: 'group', 'aria-labelledby': 'cb-size-label' },
          [h('span', { id: 'cb-size-label', class: 'cb-size-label', text: T.size })].concat(sizeBtns)),
        resetBtn
      ])
    ]),
    log,
    form
  ]);

  wrap.appendChild(launcher);
  wrap.appendChild(panel);
  // restored history is laid out only once the stylesheet shows the widget: scroll then
  root.appendChild(h('link', { rel: 'stylesheet', href: cssHref, onload: scrollDown }));
  root.appendChild(wrap);

  function setSize(s, keep) {
    wrap.classList.toggle('cb-large', s === 'large');
    sizeBtns.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-size') === s)); });
    if (!keep) try { localStorage.setItem(SIZE_KEY, s); } catch (e) { /* ignore */ }
    scrollDown();
  }

  // ---- keyboard: Japanese IME, focus trap, Esc -----------------------------------------
  input.addEventListener('compositionstart', function () { composing = true; });
  input.addEventListener('compositionend', function () { composing = false; });
  input.addEventListener('blur', function () { composing = false; });
  input.addEventListener('input', autosize);
  input.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.keyCode !== 13) return;
    if (composing || e.isComposing || e.keyCode === 229) return; // IME confirming a conversion
    if (e.shiftKey) return;                                      // newline
    e.preventDefault();
    sendText();
  });
  function active() { return (root.activeElement !== undefined ? root.activeElement : document.activeElement); }
  function focusables() {
    return Array.prototype.filter.call(
      panel.querySelectorAll('button, a[href], textarea, [tabindex="0"]'),
      function (el) { return !el.disabled && el.getClientRects().length > 0; });
  }
  panel.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' || e.key === 'Esc') {
      if (composing || e.isComposing || e.keyCode === 229) return; // Esc cancels the conversion
      e.preventDefault();
      closePanel();
    } else if (e.key === 'Tab') {
      var f = focusables(), cur = active();
      if (!f.length) return;
      var i = f.indexOf(cur);
      if (e.shiftKey && i <= 0) { e.preventDefault(); f[f.length - 1].focus(); }
      else if (!e.shiftKey && (i < 0 || i === f.length - 1)) { e.preventDefault(); f[0].focus(); }
    }
  });
  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 160) + 'px';
  }

  // ---- rendering ---------------------------------------------------------------------
  function renderMsg(m) {
    var bot = m.from !== 'user';
    var el = h('div', { class: 'cb-msg ' + (bot ? 'cb-bot' : 'cb-user') }, [
      h('span', { class: 'cb-sr', text: bot ? T.bot : T.you })
    ]);
    if (m.text) el.appendChild(h('p', { class: 'cb-text', text: m.text }));
    var links = bot ? [safeLink(m.link)].concat((m.links || []).map(safeLink)).filter(Boolean) : [];
    links.forEach(function (l) {
      el.appendChild(h('a', {
        class: 'cb-link', href: l.url, target: '_blank', rel: 'noopener noreferrer'
      }, [document.createTextNode(l.title), h('span', { class: 'cb-sr', text: T.newTab })]));
    });
    var btns = bot ? cleanButtons(m.buttons) : [];
    var groups = [];
    btns.forEach(function (b, i) {
      var fb = b.kind === 'feedback';
      var group = groups.length && groups[groups.length - 1].fb === fb ? groups[groups.length - 1] : null;
      if (!group) {
        group = { fb: fb, el: h('div', fb ? { class: 'cb-choices cb-feedback', role: 'group', 'aria-label': T.feedback }
                                          : { class: 'cb-choices', role: 'group' }) };
        if (fb) group.el.appendChild(h('span', { class: 'cb-feedback-q', 'aria-hidden': 'true', text: T.feedback }));
        groups.push(group);
        el.appendChild(group.el);
      }
      group.el.appendChild(h('button', {
        type: 'button', class: 'cb-choice' + (b.kind ? ' cb-k-' + b.kind : '') + (m.chosen === i ? ' cb-chosen' : ''),
        disabled: !!m.used, text: b.title, 'data-i': String(i),
        onclick: function () { choose(m, b, i, el); }
      }));
    });
    var time = stamp(m.t);
    if (time) el.appendChild(time);
    return el;
  }
  function retireChoices() {
    state.msgs.forEach(function (m) { if (m.buttons) m.used = true; });
    Array.prototype.forEach.call(log.querySelectorAll('.cb-choice'), function (btn) { btn.disabled = true; });
  }
  // the log scrolls; in a very short panel (huge text) the whole panel does (widget.css)
  function scrollDown() { log.scrollTop = log.scrollHeight; panel.scrollTop = panel.scrollHeight; }
  function addMsg(m) {
    m.t = Date.now();
    state.msgs.push(m);
    save();
    log.appendChild(renderMsg(m));
    scrollDown();
  }
  function showTyping() {
    var el = h('div', { class: 'cb-msg cb-bot cb-typing' }, [
      h('span', { class: 'cb-dots', 'aria-hidden': 'true' }, [h('i'), h('i'), h('i')]),
      h('span', { class: 'cb-typing-text', text: T.typing })
    ]);
    log.appendChild(el);
    scrollDown();
    return el;
  }
  function showError(body, text) {
    var el = h('div', { class: 'cb-msg cb-bot cb-error' }, [
      h('span', { class: 'cb-sr', text: T.bot }),
      h('p', { class: 'cb-text', text: text })
    ]);
    el.appendChild(h('button', {
      type: 'button', class: 'cb-retry', text: T.retry,
      onclick: function () {
        if (busy) return;
        el.parentNode && el.parentNode.removeChild(el);
        input.focus();
        request(body);
      }
    }));
    log.appendChild(el);
    scrollDown();
  }

  // ---- networking --------------------------------------------------------------------
  function post(path, body, signal) {
    return fetch(endpoint + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: csrfToken ? { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken }
                         : { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: signal
    });
  }
  // (no aria-busy on the log: screen readers would then hold back 「回答を作成中です」)
  function setBusy(b) { busy = b; }
  function request(body) {
    var my = gen;
    setBusy(true);
    var typing = showTyping();
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl && setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    function done() {
      clearTimeout(timer);
      if (typing.parentNode) typing.parentNode.removeChild(typing);
      if (my !== gen) return false; // reset happened meanwhile: drop the answer
      setBusy(false);
      return true;
    }
    // a turn never overtakes a 「最初から」 still on its way (it would be forgotten)
    (pending || Promise.resolve()).then(function () {
      return post('/chat', body, ctrl ? ctrl.signal : undefined);
    }).then(function (res) {
      return res.json().then(function (d) { return [res, d]; }, function () { return [res, null]; });
    }).then(function (r) {
      var res = r[0], d = r[1];
      if (!done()) return;
      if (res.status === 200 && d && Array.isArray(d.messages)) {
        retireChoices();
        d.messages.forEach(function (x) { var m = cleanMsg(x); if (m) addMsg(m); });
      } else {
        var err = res.status >= 400 && res.status < 500 && d && typeof d.error === 'string' &&
          d.error.trim() ? d.error.slice(0, 500) : null;
        showError(body, err || T.server);
      }
    }, function () {
      if (done()) showError(body, T.error);
    });
  }
  function sendText() {
    var text = input.value;
    if (busy || !text.trim()) return;
    text = text.slice(0, MAX_LEN);
    input.value = '';
    autosize();
    addMsg({ from: 'user', text: text });
    request({ message: text });
  }
  function choose(m, b, i, el) {
    if (busy || m.used) return;
    m.used = true;
    m.chosen = i;
    Array.prototype.forEach.call(el.querySelectorAll('.cb-choice'), function (btn) {
      btn.disabled = true;
      if (btn.getAttribute('data-i') === String(i)) btn.classList.add('cb-chosen');
    });
    input.focus();
    addMsg({ from: 'user', text: b.title });
    request({ choice: b.choice });
  }

  // ---- open / close / reset -------------------------------------------------------------
  function openPanel(byUser) {
    state.open = true;
    panel.classList.toggle('cb-anim', !!byUser); // no slide-in when a page load restores it
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    if (!state.msgs.length) addMsg({ from: 'bot', text: welcome });
    save();
    scrollDown();
    if (byUser) input.focus();
  }
  function closePanel() {
    state.open = false;
    save();
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  function resetChat() {
    gen++;
    setBusy(false);
    state.msgs = [];
    log.textContent = '';
    var p = pending = post('/reset', {}).then(function () {}, function () { /* ignored */ });
    p.then(function () { if (pending === p) pending = null; });
    addMsg({ from: 'bot', text: welcome });
    input.focus();
  }

  // Restore history before the host is attached, so the live region does not re-announce it.
  setSize(getSize(), true);
  state.msgs.forEach(function (m) { if (m && typeof m === 'object') log.appendChild(renderMsg(m)); });
  if (state.open) openPanel(false);

  function mount() { document.body.appendChild(host); scrollDown(); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
