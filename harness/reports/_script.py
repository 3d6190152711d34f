"""The HTML report's one script: long tables and the step by step view shown a page at a time from
the JSON embedded in the page, the view's filters and search, and a link that carries the view.

The page is readable without it (the first page of every table is in the HTML); with it, a
10,000-case report builds ~50 cases' DOM at a time, and a case's steps only when it is opened.
The view's state lives in the address: `#status=failed&task=t&approach=ir&changed=changed&q=words&page=2&open=task/case%20[ir]`
filters, searches, turns to a page and opens that case with its steps (a failure to show someone,
or a page to check in a test).
"""

__all__ = ["SCRIPT"]

SCRIPT = r"""
(function () {
  'use strict';
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function fmt(n) { return n.toLocaleString('en-US'); }
  function pagerOf(node, count, size, turn) {
    // Previous / next and where we are; `turn(page)` renders that page.
    var prev = el('button', null, '‹ previous'), next = el('button', null, 'next ›'), where = el('span');
    prev.type = next.type = 'button';
    node.replaceChildren(prev, where, next);
    return function (page, total, note) {
      var pages = Math.max(1, Math.ceil(total / size));
      where.textContent = total ? ' ' + fmt(page * size + 1) + '–' + fmt(Math.min(total, (page + 1) * size)) + ' of ' + fmt(total) +
        (note || '') + ' · page ' + (page + 1) + ' of ' + pages + ' ' : ' none' + (note || '') + ' ';
      prev.disabled = page <= 0; next.disabled = page >= pages - 1;
      prev.onclick = function () { turn(page - 1); }; next.onclick = function () { turn(page + 1); };
    };
  }

  // Long tables: all rows in JSON beside the table, one page of them in its body.
  document.querySelectorAll('script.table-rows').forEach(function (source) {
    var table = document.getElementById(source.dataset.table), rows = JSON.parse(source.textContent);
    var size = +source.dataset.page, numeric = (source.dataset.numeric || '').split(',').filter(Boolean).map(Number);
    var status = +(source.dataset.status || -1), body = table.tBodies[0], show;
    function turn(page) {
      var frag = document.createDocumentFragment();
      rows.slice(page * size, (page + 1) * size).forEach(function (row) {
        var tr = el('tr');
        row.forEach(function (text, i) {
          var cls = (numeric.indexOf(i) >= 0 ? ['num'] : []).concat(i === status ? ['status-' + text] : []);
          tr.appendChild(el('td', cls.join(' ') || null, text));
        });
        frag.appendChild(tr);
      });
      body.replaceChildren(frag);
      show(page, rows.length);
    }
    show = pagerOf(document.getElementById(source.dataset.table + '-pager'), rows.length, size, turn);
    show(0, rows.length);
  });

  var source = document.getElementById('report-cases');
  if (!source) { return; }
  var data = JSON.parse(source.textContent), cases = data.cases, size = data.page, baseline = data.baseline;
  var list = document.getElementById('case-list');
  var filters = {status: 'filter-status', task: 'filter-task', approach: 'filter-approach', changed: 'filter-changed', q: 'filter-text'};
  Object.keys(filters).forEach(function (key) { filters[key] = document.getElementById(filters[key]); });
  var hay = [], shown = [], page = 0;
  function label(c) { return c.t + '/' + c.c + ' [' + c.a + ']'; }
  function haystack(i) {
    // What the search looks in: the case's name, verdict, checks, changes and every step's text.
    if (hay[i] === undefined) {
      var c = cases[i], parts = [label(c), c.s, c.e || ''];
      c.f.forEach(function (f) { parts.push(f.join(' ')); });
      if (c.ch) { parts.push(c.ch[3].join('\n')); }
      if (typeof c.steps === 'string') { parts.push(c.steps); } else { c.steps.forEach(function (s) { parts.push(s[0], String(s[1]), String(s[2]), s[3] || ''); }); }
      hay[i] = parts.join('\n').toLowerCase();
    }
    return hay[i];
  }
  function checks(c) {
    var ul = el('ul', 'checks');
    if (c.e) { ul.appendChild(el('li', 'fail', 'run: ' + c.e)); }
    c.f.forEach(function (f) { ul.appendChild(el('li', 'fail', f[0] + ' ' + f[1] + ': ' + f[2])); });
    return ul.children.length ? ul : null;
  }
  function changes(c) {
    if (!c.ch) { return null; }
    var box = el('div', 'changes');
    box.appendChild(el('div', null, 'since the baseline, run ' + baseline + ': ' + (c.ch[1] || 'not run') + ' → ' + (c.ch[2] || 'not run')));
    var ul = el('ul');
    c.ch[3].forEach(function (line) { ul.appendChild(el('li', null, line)); });
    box.appendChild(ul);
    return box;
  }
  function pretty(value) {  // text as it is; [JSON] indented (cut JSON, which will not parse, as it is)
    if (!Array.isArray(value)) { return value; }
    try { return JSON.stringify(JSON.parse(value[0]), null, 2); } catch (e) { return value[0]; }
  }
  function steps(c, open) {
    if (typeof c.steps === 'string') { return [el('p', 'note', c.steps)]; }
    return c.steps.map(function (s) {
      var d = el('details', 'step' + (s[3] ? ' error' : ''));
      d.appendChild(el('summary', null, s[0]));
      d.append(el('div', null, 'input'), el('pre', null, pretty(s[1])), el('div', null, 'output'), el('pre', null, pretty(s[2])));
      if (s[3]) { d.append(el('div', null, 'error'), el('pre', null, s[3])); }
      d.open = !!open;
      return d;
    });
  }
  function caseNode(i, open) {
    var c = cases[i], d = el('details', 'case ' + c.s), summary = el('summary'), filled = false;
    d.dataset.status = c.s; d.dataset.case = label(c);
    summary.append(el('b', null, c.s), ' ' + label(c) + ' · ' + c.n + ' checks' + (c.f.length ? ', ' + c.f.length + ' failed' : ''));
    if (c.ch) { summary.append(' ', el('span', 'changed', 'changed: ' + (c.ch[1] || '—') + ' → ' + (c.ch[2] || '—'))); }
    d.appendChild(summary);
    function fill() {  // the body is built when the case is first opened
      if (filled) { return; }
      filled = true;
      [checks(c), changes(c)].concat(steps(c, open)).forEach(function (node) { if (node) { d.appendChild(node); } });
    }
    d.addEventListener('toggle', function () { if (d.open) { fill(); } });
    if (open) { fill(); d.open = true; }
    return d;
  }
  var show = pagerOf(document.getElementById('case-pager'), 0, size, function (p) { page = p; render(null); writeState(); });
  function select() {
    var want = {}, q = filters.q.value.toLowerCase();
    Object.keys(filters).forEach(function (k) { want[k] = filters[k].value; });
    shown = [];
    for (var i = 0; i < cases.length; i++) {
      var c = cases[i];
      if ((want.status && c.s !== want.status) || (want.task && c.t !== want.task) || (want.approach && c.a !== want.approach) ||
          (want.changed === 'changed' && !c.ch) || (want.changed === 'unchanged' && c.ch) || (q && haystack(i).indexOf(q) < 0)) { continue; }
      shown.push(i);
    }
    if (want.changed === 'changed') { shown.sort(function (a, b) { return cases[a].ch[0] - cases[b].ch[0]; }); }  // largest change first
  }
  function render(open) {
    var frag = document.createDocumentFragment();
    shown.slice(page * size, (page + 1) * size).forEach(function (i) { frag.appendChild(caseNode(i, i === open)); });
    list.replaceChildren(frag);
    show(page, shown.length, shown.length < cases.length ? ' (of ' + fmt(cases.length) + ')' : '');
  }
  function writeState() {
    var state = new URLSearchParams();
    Object.keys(filters).forEach(function (k) { if (filters[k].value) { state.set(k, filters[k].value); } });
    if (page) { state.set('page', page + 1); }
    try { history.replaceState(null, '', state.toString() ? '#' + state.toString() : location.pathname + location.search); } catch (e) { /* file: in some browsers */ }
  }
  function readState(hash) {
    var state = new URLSearchParams(hash.slice(1)), open = null;
    Object.keys(filters).forEach(function (k) { filters[k].value = state.get(k) || ''; });
    select();
    page = Math.max(0, Math.min(Math.ceil(shown.length / size) - 1, (+state.get('page') || 1) - 1));
    if (state.has('open')) {
      var at = -1;
      shown.forEach(function (i, n) { if (at < 0 && label(cases[i]) === state.get('open')) { at = n; } });
      if (at >= 0) { page = Math.floor(at / size); open = shown[at]; }
    }
    render(open);
    if (open !== null) { list.querySelector('details.case[open]').scrollIntoView(); }  // the case a link opens is in view
  }
  function changed() { page = 0; select(); render(null); writeState(); }
  Object.keys(filters).forEach(function (k) { filters[k].addEventListener(k === 'q' ? 'input' : 'change', changed); });
  window.addEventListener('hashchange', function () {
    if (location.hash.indexOf('=') < 0) { return; }  // #steps, #cost: the page's own anchors
    readState(location.hash);
    if (!/[#&]open=/.test(location.hash)) { document.getElementById('steps').scrollIntoView(); }
  });
  readState(location.hash.indexOf('=') >= 0 ? location.hash : '');
})();
"""
