// The Reach course AU runtime. It follows cmi5 as an AU: it reads the launch
// parameters, fetches the auth token once, reads LMS.LaunchData, and sends
// initialized, experienced, answered, completed, passed or failed, and
// terminated statements. It keeps the learner's place, answers, reflections
// and drafts in the xAPI State resource, with localStorage as a fallback.
// Written for this project; no third-party code.
(() => {
  'use strict';

  const XAPI_VERSION = '1.0.3';
  const STATE_ID = 'https://reach.london/xapi/state/progress';
  const ROLE_PROFILE = 'https://reach.london/xapi/profiles/role';
  const CAT_CMI5 = 'https://w3id.org/xapi/cmi5/context/categories/cmi5';
  const CAT_MOVEON = 'https://w3id.org/xapi/cmi5/context/categories/moveon';
  const ACT_PAGE = 'http://activitystrea.ms/schema/1.0/page';
  const ACT_REFLECTION = 'https://reach.london/xapi/activities/reflection';
  const ACT_DRAFT = 'https://reach.london/xapi/activities/draft';
  const SAVE_DELAY = 800;
  const HINT_DELAY = 1200;

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // guardedStorage wraps Web Storage, which may be denied (in a frame of
  // another site with third-party storage blocked, merely reading
  // window.sessionStorage throws SecurityError), partitioned or cleared.
  // What this page writes is kept in memory too, so it works on without
  // storage; the xAPI State resource keeps the learner's progress.
  function guardedStorage(name) {
    const mem = new Map();
    return {
      get(key) {
        if (mem.has(key)) return mem.get(key);
        try { return window[name].getItem(key); } catch (e) { return null; }
      },
      set(key, value) {
        mem.set(key, String(value));
        try { window[name].setItem(key, String(value)); } catch (e) { /* denied or full */ }
      },
    };
  }
  const sessionStore = guardedStorage('sessionStorage');
  const localStore = guardedStorage('localStorage');

  let data = null; // the AU's au.json
  let launch = null; // launch parameters, or null when opened outside an LMS
  let token = null;
  let launchData = { contextTemplate: {}, launchMode: 'Normal' };
  let tracked = false; // whether statements may be sent in this session
  let online = false; // whether the LRS may be used (token and launch data in hand)
  let sessionKey = ''; // sessionStorage key of this launch's phase
  let pendingFail = null; // a failed result held back until the session ends
  const started = Date.now();
  const sentThisSession = { experienced: new Set(), judged: false, terminated: false };
  let state = emptyState();
  let queue = Promise.resolve();

  function emptyState() {
    return { v: 1, updated: 0, page: null, seen: [], counted: [], role: null, answers: {}, reflections: {}, drafts: {}, completed: false, passed: false };
  }

  // ---- small helpers -------------------------------------------------------

  function uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function duration() {
    const cs = Math.round((Date.now() - started) / 10);
    return `PT${Math.floor(cs / 100)}.${String(cs % 100).padStart(2, '0')}S`;
  }

  function debounce(fn, ms) {
    let t = null;
    const d = (...args) => {
      clearTimeout(t);
      t = setTimeout(() => { t = null; fn(...args); }, ms);
    };
    d.flush = () => { if (t) { clearTimeout(t); t = null; fn(); } };
    return d;
  }

  function announce(text) {
    const a = $('[data-announcer]');
    a.textContent = '';
    setTimeout(() => { a.textContent = text; }, 50);
  }

  function banner(text, link) {
    const b = $('[data-banner]');
    b.textContent = text;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      b.append(' ', a);
    }
    b.hidden = !text;
  }

  // ---- xAPI transport ------------------------------------------------------

  function readLaunch() {
    const q = new URLSearchParams(location.search);
    const endpoint = q.get('endpoint');
    const fetchURL = q.get('fetch');
    const actor = q.get('actor');
    const activityId = q.get('activityId');
    if (!endpoint || !fetchURL || !actor || !activityId) return null;
    return {
      endpoint: endpoint.endsWith('/') ? endpoint : endpoint + '/',
      fetch: fetchURL,
      actor: JSON.parse(actor),
      registration: q.get('registration') || '',
      activityId,
    };
  }

  // getToken POSTs the fetch URL once per launch; the token is kept in
  // sessionStorage because a second POST gets an error by design.
  async function getToken() {
    const key = 'reach.cmi5.token|' + launch.fetch;
    const kept = sessionStore.get(key);
    if (kept) return kept;
    const res = await fetch(launch.fetch, { method: 'POST', credentials: 'omit' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body['auth-token']) {
      throw new Error(body['error-text'] || `the course could not be authorised (${res.status})`);
    }
    sessionStore.set(key, body['auth-token']);
    return body['auth-token'];
  }

  function xapi(method, path, params, body, headers = {}, keepalive = false) {
    const url = new URL(path, launch.endpoint);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    }
    const h = { Authorization: 'Basic ' + token, 'X-Experience-API-Version': XAPI_VERSION, ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    return fetch(url, {
      method, headers: h, credentials: 'omit', keepalive,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function stateParams(stateId) {
    return { activityId: launch.activityId, agent: JSON.stringify(launch.actor), registration: launch.registration, stateId };
  }

  async function getJSON(path, params) {
    const res = await xapi('GET', path, params);
    if (res.status === 404) return { found: false };
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return { found: true, body: await res.json(), etag: res.headers.get('ETag') };
  }

  // ---- statements ----------------------------------------------------------

  function auActivity() {
    return { objectType: 'Activity', id: launch.activityId };
  }

  function statement(verb, object, { result, cmi5 = false, moveOn = false, parent = false, mastery = false, category = '' } = {}) {
    if (!tracked) return null;
    const ctx = JSON.parse(JSON.stringify(launchData.contextTemplate || {}));
    if (!ctx.registration && launch.registration) ctx.registration = launch.registration;
    ctx.contextActivities = ctx.contextActivities || {};
    const addTo = (kind, id) => {
      const list = ctx.contextActivities[kind] = [].concat(ctx.contextActivities[kind] || []);
      if (!list.some((a) => a.id === id)) list.push({ objectType: 'Activity', id });
    };
    if (cmi5) addTo('category', CAT_CMI5);
    if (moveOn) addTo('category', CAT_MOVEON);
    if (parent) addTo('parent', launch.activityId);
    if (category) addTo('category', category);
    if (mastery) {
      ctx.extensions = { ...(ctx.extensions || {}), [data.extensions.masteryScore]: masteryScore() };
    }
    const s = {
      id: uuid(),
      actor: launch.actor,
      verb: { id: data.verbs[verb], display: { 'en-GB': verb } },
      object,
      context: ctx,
      timestamp: new Date().toISOString(),
    };
    if (result) s.result = result;
    return s;
  }

  // send queues a statement so statements reach the LRS in the order they
  // happened; a failed POST is retried a few times before giving up.
  function send(s, keepalive = false) {
    if (!tracked || !s || (Array.isArray(s) && s.some((x) => !x))) return Promise.resolve();
    if (keepalive) {
      return xapi('POST', 'statements', null, s, {}, true).catch(() => {});
    }
    queue = queue.then(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const res = await xapi('POST', 'statements', null, s);
          if (res.ok) return;
          if (res.status >= 400 && res.status < 500) {
            console.warn('statement refused', res.status, await res.text());
            return;
          }
        } catch (e) { /* network: retry */ }
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
      banner('Your progress could not be sent to the course just now. It is kept in this browser, so carry on.');
    });
    return queue;
  }

  function masteryScore() {
    const m = launchData.masteryScore;
    return typeof m === 'number' ? m : data.masteryScore;
  }

  // Only a Normal launch may record completion or a result (cmi5 10.0).
  function mayJudge() {
    return tracked && (launchData.launchMode || 'Normal') === 'Normal';
  }

  // ---- state ---------------------------------------------------------------

  function localKey() {
    return 'reach.au|' + (launch ? launch.activityId + '|' + launch.registration : data.auIri + '|preview');
  }

  function saveLocal() {
    try { localStore.set(localKey(), JSON.stringify(state)); } catch (e) { /* full or blocked */ }
  }

  async function saveRemote(keepalive = false) {
    if (!online) return;
    try {
      const res = await xapi('PUT', 'activities/state', stateParams(STATE_ID), state, {}, keepalive);
      if (!res.ok) throw new Error(String(res.status));
    } catch (e) {
      if (!keepalive) banner('Your progress could not be saved to the course just now. It is kept in this browser.');
    }
  }

  const saveRemoteSoon = debounce(() => saveRemote(), SAVE_DELAY);

  function save() {
    state.updated = Date.now();
    saveLocal();
    saveRemoteSoon();
  }

  async function loadState() {
    let local = null;
    try { local = JSON.parse(localStore.get(localKey()) || 'null'); } catch (e) { local = null; }
    let remote = null;
    if (online) {
      try {
        const r = await getJSON('activities/state', stateParams(STATE_ID));
        if (r.found) remote = r.body;
      } catch (e) { /* fall back to this browser's copy */ }
    }
    const pick = [remote, local].filter((s) => s && s.v === 1).sort((a, b) => (b.updated || 0) - (a.updated || 0))[0];
    state = Object.assign(emptyState(), pick || {});
  }

  // ---- role ----------------------------------------------------------------

  async function loadRole() {
    if (online) {
      try {
        const r = await getJSON('agents/profile', { agent: JSON.stringify(launch.actor), profileId: ROLE_PROFILE });
        if (r.found && data.roles[r.body.role]) return r.body.role;
      } catch (e) { /* fall back */ }
    }
    return state.role || localStore.get('reach.role') || null;
  }

  async function saveRole(role) {
    state.role = role;
    try { localStore.set('reach.role', role); } catch (e) { /* ignore */ }
    save();
    if (!online) return;
    try {
      const params = { agent: JSON.stringify(launch.actor), profileId: ROLE_PROFILE };
      const cur = await getJSON('agents/profile', params);
      const headers = cur.found && cur.etag ? { 'If-Match': cur.etag } : { 'If-None-Match': '*' };
      await xapi('PUT', 'agents/profile', params, { role }, headers);
    } catch (e) { /* the role is still in state */ }
  }

  function applyRole() {
    const role = state.role;
    for (const d of $$('details.role-note')) {
      const mine = d.dataset.role === role;
      d.open = mine;
      d.classList.toggle('is-mine', mine);
    }
    const form = $('[data-role-form]');
    const status = $('[data-role-status]');
    status.textContent = '';
    if (role) {
      form.hidden = true;
      status.append(`Your role: ${data.roles[role]} `);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = 'Change role';
      b.addEventListener('click', () => {
        form.hidden = false;
        const r = $(`input[value="${role}"]`, form);
        if (r) r.checked = true;
        go(data.pages[0].id, false);
        $('legend', form).setAttribute('tabindex', '-1');
        $('legend', form).focus();
      });
      status.append(b);
    } else {
      form.hidden = false;
    }
    updateNav();
  }

  function wireRoleForm() {
    const form = $('[data-role-form]');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const chosen = $('input[name="role"]:checked', form);
      const err = $('[data-error]', form);
      if (!chosen) {
        showError(form, err, 'Choose the group you are in.');
        return;
      }
      clearError(form, err);
      await saveRole(chosen.value);
      applyRole();
      checkCompleted(); // a new role changes the path
      // The form has gone, so focus moves to the page's heading.
      $('h1', form.closest('section.page')).focus();
      announce(`Saved. Notes for ${data.roles[chosen.value].toLowerCase()} now open on each page.`);
    });
  }

  function showError(form, el, text) {
    el.textContent = text;
    el.hidden = false;
    for (const i of $$('input, select, textarea', form)) i.setAttribute('aria-invalid', 'true');
    const first = $('input, select, textarea', form);
    if (first) first.focus();
  }

  function clearError(form, el) {
    el.textContent = '';
    el.hidden = true;
    for (const i of $$('[aria-invalid]', form)) i.removeAttribute('aria-invalid');
  }

  // ---- pages and navigation ------------------------------------------------

  function onPath(p) {
    return !p.roles || p.roles.length === 0 || p.roles.includes(state.role);
  }

  function path() {
    return data.pages.filter(onPath);
  }

  function currentId() {
    const h = decodeURIComponent(location.hash.replace(/^#page-/, ''));
    return data.pages.some((p) => p.id === h) ? h : null;
  }

  function go(id, focus) {
    if (location.hash !== '#page-' + id) {
      history.pushState(null, '', '#page-' + id);
    }
    show(id, focus);
  }

  function show(id, focus) {
    const page = data.pages.find((p) => p.id === id) || data.pages[0];
    for (const s of $$('section.page')) s.hidden = s.dataset.page !== page.id;
    document.title = `${page.title} – ${data.title}`;
    state.page = page.id;
    if (!state.seen.includes(page.id)) state.seen.push(page.id);
    // Pages seen in a Browse or Review launch do not count towards
    // completion (cmi5: those modes record no completion data).
    if ((launchData.launchMode || 'Normal') === 'Normal' && !state.counted.includes(page.id)) state.counted.push(page.id);
    save();
    updateNav();
    if (focus) {
      const h = $(`#title-${CSS.escape(page.id)}`);
      h.focus();
      window.scrollTo({ top: 0, behavior: 'instant' });
    }
    if (page.id === summaryPageId()) renderReflections();
    experienced(page);
    checkCompleted();
  }

  function summaryPageId() {
    const el = $('[data-my-reflections]');
    return el ? el.closest('section.page').dataset.page : null;
  }

  function updateNav() {
    const cur = state.page;
    const list = path();
    for (const a of $$('[data-page-link]')) {
      if (a.dataset.pageLink === cur) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
      const seen = state.seen.includes(a.dataset.pageLink);
      a.parentElement.querySelector('[data-seen-tag]').hidden = !seen;
    }
    const seenOnPath = list.filter((p) => state.seen.includes(p.id)).length;
    $('[data-progress]').textContent = `(${seenOnPath} of ${list.length} seen)`;
    // Previous and next follow the learner's path; a role page opened from
    // the list leads back into the path at its position.
    const all = data.pages.map((p) => p.id);
    const at = all.indexOf(cur);
    const prev = [...list].reverse().find((p) => all.indexOf(p.id) < at);
    const next = list.find((p) => all.indexOf(p.id) > at);
    setPager($('[data-prev]'), prev, 'Previous: ');
    setPager($('[data-next]'), next, 'Next: ');
  }

  function setPager(a, page, label) {
    a.hidden = !page;
    if (page) {
      a.href = '#page-' + page.id;
      a.textContent = label + page.title;
    }
  }

  function experienced(page) {
    if (sentThisSession.experienced.has(page.id)) return;
    sentThisSession.experienced.add(page.id);
    send(statement('experienced', {
      objectType: 'Activity', id: page.iri,
      definition: { type: ACT_PAGE, name: { 'en-GB': page.title } },
    }, { parent: true }));
  }

  function checkCompleted() {
    if (state.completed || !mayJudge()) return;
    if (!path().every((p) => state.counted.includes(p.id))) return;
    state.completed = true;
    save();
    send(statement('completed', auActivity(), { cmi5: true, moveOn: true, result: { completion: true, duration: duration() } }));
    announce('You have now seen every page of this module.');
  }

  // ---- knowledge checks ----------------------------------------------------

  function question(id) {
    return data.questions.find((q) => q.id === id);
  }

  const norm = (s) => s.trim().replace(/\s+/g, ' ').toLowerCase();

  // readAnswer returns {response, success} or {error} for a question form.
  function readAnswer(form, q) {
    switch (q.type) {
      case 'choice':
      case 'true-false': {
        const c = $('input:checked', form);
        if (!c) return { error: 'Choose an answer.' };
        return { response: c.value, success: c.value === q.correct[0] };
      }
      case 'multiple-choice': {
        const ids = $$('input:checked', form).map((i) => i.value);
        if (ids.length === 0) return { error: 'Choose at least one answer.' };
        const ok = ids.length === q.correct.length && ids.every((i) => q.correct.includes(i));
        return { response: ids.join('[,]'), success: ok };
      }
      case 'fill-in': {
        const v = $('input', form).value;
        if (!v.trim()) return { error: 'Type an answer.' };
        return { response: v.trim(), success: q.correct.some((c) => norm(c) === norm(v)) };
      }
      case 'matching': {
        const sel = $$('select', form);
        if (sel.some((s) => !s.value)) return { error: 'Choose a match for every item.' };
        const pairs = sel.map((s) => [s.dataset.source, s.value]);
        const ok = q.pairs.every(([src, tgt]) => pairs.some(([s, t]) => s === src && t === tgt));
        return { response: pairs.map((p) => p.join('[.]')).join('[,]'), success: ok };
      }
      case 'sequencing': {
        const sel = $$('select', form);
        if (sel.some((s) => !s.value)) return { error: 'Give every item a position.' };
        const pos = sel.map((s) => Number(s.value));
        if (new Set(pos).size !== pos.length) return { error: 'Use each position once.' };
        const order = [...sel].sort((a, b) => Number(a.value) - Number(b.value)).map((s) => s.dataset.item);
        return { response: order.join('[,]'), success: order.join() === q.correct.join() };
      }
    }
    return { error: 'This question cannot be answered.' };
  }

  function fillAnswer(form, q, response) {
    switch (q.type) {
      case 'choice':
      case 'true-false':
      case 'multiple-choice': {
        const ids = response.split('[,]');
        for (const i of $$('input', form)) i.checked = ids.includes(i.value);
        break;
      }
      case 'fill-in':
        $('input', form).value = response;
        break;
      case 'matching':
        for (const p of response.split('[,]')) {
          const [s, t] = p.split('[.]');
          const sel = $(`select[data-source="${CSS.escape(s)}"]`, form);
          if (sel) sel.value = t;
        }
        break;
      case 'sequencing':
        response.split('[,]').forEach((id, i) => {
          const sel = $(`select[data-item="${CSS.escape(id)}"]`, form);
          if (sel) sel.value = String(i + 1);
        });
        break;
    }
  }

  // showAnswered shows what an attempt taught: the verdict, the feedback
  // for each option the learner chose, and after a wrong answer the right
  // answer, why, a link to the page that teaches it and a retry button.
  function showAnswered(form, q, answer) {
    for (const el of $$('input, select', form)) el.disabled = true;
    $('button[type="submit"]', form).hidden = true;
    const fb = $('.feedback', form);
    fb.className = 'feedback ' + (answer.success ? 'is-correct' : 'is-incorrect');
    fb.textContent = '';
    const para = (cls, text) => {
      const p = document.createElement('p');
      if (cls) p.className = cls;
      p.textContent = text;
      fb.append(p);
      return p;
    };
    para('verdict', answer.success ? 'Correct.' : 'Not quite.');
    for (const [label, text] of optionFeedback(form, q, answer.response)) {
      const p = para('option-feedback', '');
      const b = document.createElement('strong');
      b.textContent = `You chose “${label}”. `;
      p.append(b, text);
    }
    if (answer.success) {
      para('', q.feedback.correct);
    } else {
      para('', q.feedback.incorrect);
      const right = para('right-answer', '');
      const b = document.createElement('strong');
      b.textContent = 'The right answer: ';
      right.append(b, q.answer || '');
      if (q.why) para('why', 'Why: ' + q.why);
    }
    if (q.teaches) {
      const p = para('teaches', '');
      const a = document.createElement('a');
      a.href = '#page-' + q.teaches.id;
      a.textContent = `Read “${q.teaches.title}” again`;
      p.append(a);
    }
    const retry = $('[data-question-retry]', form);
    if (retry) retry.hidden = answer.success;
  }

  // optionFeedback returns [option text, feedback] for each option the
  // learner chose that has its own feedback.
  function optionFeedback(form, q, response) {
    if (!q.options || (q.type !== 'choice' && q.type !== 'multiple-choice')) return [];
    return response.split('[,]').filter((id) => q.options[id]).map((id) => {
      const label = $(`label[for="${CSS.escape(form.id + '-' + id)}"]`, form);
      return [label ? label.textContent.trim() : id, q.options[id]];
    });
  }

  function resetQuestion(form) {
    for (const el of $$('input, select', form)) {
      el.disabled = false;
      if (el.type === 'radio' || el.type === 'checkbox') el.checked = false;
      else el.value = '';
    }
    $('button[type="submit"]', form).hidden = false;
    const fb = $('.feedback', form);
    fb.className = 'feedback';
    fb.textContent = '';
    const retry = $('[data-question-retry]', form);
    if (retry) retry.hidden = true;
  }

  // retryQuestion clears one question's answer so the learner can try it
  // again; the module result waits until every question has an answer.
  function retryQuestion(form, q) {
    delete state.answers[q.id];
    save();
    resetQuestion(form);
    for (const r of $$('[data-check-result]')) r.textContent = '';
    for (const r of $$('[data-check-retry]')) r.hidden = true;
    const first = $('input, select', form);
    if (first) first.focus();
    announce('Your answer is cleared. Try the question again.');
  }

  function wireQuestions() {
    for (const form of $$('form.question')) {
      const q = question(form.dataset.question);
      if (!q) continue;
      const err = $('[data-error]', form);
      const retry = $('[data-question-retry]', form);
      if (retry) retry.addEventListener('click', () => retryQuestion(form, q));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (state.answers[q.id]) return;
        const a = readAnswer(form, q);
        if (a.error) {
          showError(form, err, a.error);
          return;
        }
        clearError(form, err);
        state.answers[q.id] = { response: a.response, success: a.success };
        save();
        showAnswered(form, q, a);
        // The Check button has gone, so focus moves to the feedback.
        const fb = $('.feedback', form);
        fb.setAttribute('tabindex', '-1');
        fb.focus();
        send(statement('answered', { objectType: 'Activity', id: q.iri, definition: q.definition },
          { parent: true, result: { response: a.response, success: a.success } }));
        checkScore(true);
      });
    }
    for (const b of $$('[data-check-retry]')) {
      b.addEventListener('click', () => {
        state.answers = {};
        save();
        for (const form of $$('form.question')) resetQuestion(form);
        for (const r of $$('[data-check-result]')) r.textContent = '';
        for (const r of $$('[data-check-retry]')) r.hidden = true;
        const first = $('form.question input, form.question select');
        if (first) first.focus();
        announce('Your answers are cleared. Try the questions again.');
      });
    }
  }

  function restoreQuestions() {
    for (const form of $$('form.question')) {
      const q = question(form.dataset.question);
      const a = q && state.answers[q.id];
      if (a) {
        fillAnswer(form, q, a.response);
        showAnswered(form, q, a);
      }
    }
    checkScore(false);
  }

  // checkScore shows the result once every question is answered and, in a
  // Normal launch, records passed (once per registration) or failed.
  function checkScore(fresh) {
    // Questions on another role's pages do not count for this learner.
    const questions = data.questions.filter((q) => !q.roles || q.roles.length === 0 || q.roles.includes(state.role));
    const total = questions.length;
    if (total === 0) return;
    const answered = questions.filter((q) => state.answers[q.id]);
    if (answered.length < total) return;
    const right = answered.filter((q) => state.answers[q.id].success).length;
    const scaled = Math.round((right / total) * 10000) / 10000;
    const ms = masteryScore();
    const pass = typeof ms !== 'number' || scaled >= ms;
    const pct = Math.round(scaled * 100);
    const need = typeof ms === 'number' ? ` You need ${Math.round(ms * 100)}% to pass.` : '';
    const msg = `You answered ${right} of ${total} questions correctly (${pct}%).${need} ` +
      (pass ? 'You have passed this module\'s knowledge check.' : 'You have not passed yet: look back at the feedback, then try again.');
    for (const r of $$('[data-check-result]')) r.textContent = msg;
    for (const r of $$('[data-check-retry]')) r.hidden = false;
    if (!fresh || !mayJudge() || typeof ms !== 'number' || state.passed) return;
    const result = { success: pass, score: { scaled, raw: right, min: 0, max: total } };
    // A session may carry one passed or failed statement, so a fail is
    // held back until the session ends: the learner may still retry and
    // pass in this session.
    if (!pass) {
      pendingFail = result;
      return;
    }
    pendingFail = null;
    if (sentThisSession.judged) return;
    sentThisSession.judged = true;
    state.passed = true;
    save();
    result.duration = duration();
    send(statement('passed', auActivity(), { cmi5: true, moveOn: true, mastery: true, result }));
  }

  // ---- branching scenarios --------------------------------------------------

  const EXT_SCENARIO = 'https://reach.london/xapi/extensions/scenario';
  const EXT_STEP = 'https://reach.london/xapi/extensions/scenario-step';
  const EXT_ENDING = 'https://reach.london/xapi/extensions/scenario-ending';

  // A scenario keeps its path in the state ({path: [[step, choice]...]}),
  // so a learner who leaves carries on at the same step.
  function scenarioState(id) {
    state.scenarios = state.scenarios || {};
    state.scenarios[id] = state.scenarios[id] || { path: [] };
    return state.scenarios[id];
  }

  function wireScenarios() {
    for (const box of $$('[data-scenario]')) {
      const sc = (data.scenarios || []).find((x) => x.id === box.dataset.scenario);
      if (!sc) continue;
      for (const form of $$('form.scenario-step', box)) {
        const err = $('[data-error]', form);
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          const chosen = $('input:checked', form);
          if (!chosen) {
            showError(form, err, 'Choose what you would do.');
            return;
          }
          clearError(form, err);
          chooseInScenario(box, sc, form.dataset.step, chosen.value);
        });
      }
      $('[data-scenario-continue]', box).addEventListener('click', () => {
        const st = scenarioState(sc.id);
        const [step, choice] = st.path[st.path.length - 1];
        showScenarioAt(box, sc, sc.steps[step].next[choice], true);
      });
      for (const b of $$('[data-scenario-restart]', box)) {
        b.addEventListener('click', () => {
          state.scenarios[sc.id] = { path: [] };
          save();
          renderScenarioPath(box, sc);
          showScenarioAt(box, sc, sc.start, true);
          announce('The scenario starts again.');
        });
      }
      renderScenarioPath(box, sc);
      const st = scenarioState(sc.id);
      const last = st.path[st.path.length - 1];
      showScenarioAt(box, sc, last ? sc.steps[last[0]].next[last[1]] : sc.start, false);
    }
  }

  // chooseInScenario records a choice, shows what it led to, and sends a
  // responded statement for the step as a choice interaction.
  function chooseInScenario(box, sc, step, choice) {
    const st = scenarioState(sc.id);
    st.path.push([step, choice]);
    save();
    const next = sc.steps[step].next[choice];
    const ext = { [EXT_SCENARIO]: sc.iri, [EXT_STEP]: step };
    if (sc.endings[next]) ext[EXT_ENDING] = next;
    send(statement('responded', { objectType: 'Activity', id: sc.iri + '/steps/' + step, definition: sc.steps[step].definition },
      { parent: true, result: { response: choice, completion: Boolean(sc.endings[next]), extensions: ext } }));
    renderScenarioPath(box, sc);
    for (const f of $$('form.scenario-step', box)) f.hidden = true;
    const out = $('[data-scenario-outcome]', box);
    const tpl = $(`template[data-consequence="${CSS.escape(step + '.' + choice)}"]`, box);
    const text = $('[data-outcome-text]', out);
    text.textContent = '';
    if (tpl) text.append(tpl.content.cloneNode(true));
    $('[data-scenario-continue]', out).textContent = sc.endings[next] ? 'See how it ended' : 'Continue';
    out.hidden = false;
    out.focus();
  }

  function showScenarioAt(box, sc, id, focus) {
    for (const f of $$('form.scenario-step', box)) {
      f.hidden = f.dataset.step !== id;
      if (!f.hidden) for (const i of $$('input', f)) i.checked = false;
    }
    for (const e of $$('[data-ending]', box)) e.hidden = e.dataset.ending !== id;
    $('[data-scenario-outcome]', box).hidden = true;
    if (!focus) return;
    const shown = $(`form.scenario-step[data-step="${CSS.escape(id)}"], [data-ending="${CSS.escape(id)}"]`, box);
    if (shown) {
      const h = $('h2, h3, h4, h5, h6', shown);
      if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
    }
    const live = $('[data-scenario-live]', box);
    live.textContent = sc.endings[id] ? `Ending: ${sc.endings[id]}` : `Next: ${sc.steps[id].title}`;
  }

  function renderScenarioPath(box, sc) {
    const st = scenarioState(sc.id);
    const wrap = $('[data-scenario-path]', box);
    const log = $('[data-scenario-log]', box);
    log.textContent = '';
    for (const [step, choice] of st.path) {
      const li = document.createElement('li');
      const label = $(`label[for="${CSS.escape(`scn-${sc.id}-${step}-${choice}`)}"]`, box);
      const b = document.createElement('strong');
      b.textContent = sc.steps[step].title + ': ';
      li.append(b, 'you chose “' + (label ? label.textContent.trim() : choice) + '”.');
      log.append(li);
    }
    wrap.hidden = st.path.length === 0;
  }

  // ---- self-assessment -------------------------------------------------------

  // The learner's ratings are kept in the state as
  // selfAssessment{start|end: {ratings: [1-5 per outcome], text, at}} and
  // sent as responded statements, one per outcome (runtime/README.md).
  function selfState() {
    state.selfAssessment = state.selfAssessment || {};
    return state.selfAssessment;
  }

  function wireSelfAssessments() {
    const sa = data.selfAssessment;
    if (!sa) return;
    for (const form of $$('form[data-self-assessment]')) {
      const phase = form.dataset.selfAssessment;
      const saved = selfState()[phase];
      const text = $('[data-sa-text]', form);
      if (saved) {
        saved.ratings.forEach((v, i) => {
          const r = $(`fieldset[data-outcome="${i + 1}"] input[value="${v}"]`, form);
          if (r) r.checked = true;
        });
        text.value = saved.text || '';
      }
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        saveSelfAssessment(form, phase, sa);
      });
    }
    renderChange();
  }

  function saveSelfAssessment(form, phase, sa) {
    const err = $('[data-error]', form);
    const sets = $$('fieldset[data-outcome]', form);
    const ratings = sets.map((f) => { const c = $('input:checked', f); return c ? Number(c.value) : null; });
    const missing = sets.filter((f, i) => ratings[i] === null);
    for (const i of $$('[aria-invalid]', form)) i.removeAttribute('aria-invalid');
    if (missing.length) {
      err.textContent = `Rate every statement: ${missing.length} of ${sets.length} still need a rating.`;
      err.hidden = false;
      for (const f of missing) for (const i of $$('input', f)) i.setAttribute('aria-invalid', 'true');
      $('input', missing[0]).focus();
      return;
    }
    err.textContent = '';
    err.hidden = true;
    selfState()[phase] = { ratings, text: $('[data-sa-text]', form).value, at: new Date().toISOString() };
    save();
    // The written answer stays in the learner's state; statements carry
    // only the ratings.
    send(sa.outcomes.map((o, i) => statement('responded', { objectType: 'Activity', id: o.iri, definition: o.definition }, {
      parent: true, category: sa.profile,
      result: { response: String(ratings[i]), extensions: { [sa.extensions.phase]: phase, [sa.extensions.outcome]: i + 1 } },
    })));
    $('[data-save-status]', form).textContent = 'Saved.';
    if (phase === 'end') {
      renderChange();
      const box = $('[data-sa-change]', form);
      if (box) box.focus();
    } else {
      announce('Your answers are saved. You will rate your confidence again at the end of the module.');
    }
  }

  // renderChange shows the learner their own change, outcome by outcome,
  // once they have rated their confidence at the end.
  function renderChange() {
    const box = $('[data-sa-change]');
    const sa = data.selfAssessment;
    const st = selfState();
    if (!box || !sa || !st.end) return;
    const body = $('[data-sa-change-body]', box);
    body.textContent = '';
    const start = st.start;
    const table = document.createElement('table');
    const cap = document.createElement('caption');
    cap.textContent = 'Your confidence, from 1 (not at all confident) to 5 (very confident)';
    table.append(cap);
    const row = (cells, head) => {
      const tr = document.createElement('tr');
      cells.forEach((c, i) => {
        const cell = document.createElement(head || i === 0 ? 'th' : 'td');
        if (head) cell.scope = 'col'; else if (i === 0) cell.scope = 'row';
        cell.textContent = c;
        tr.append(cell);
      });
      return tr;
    };
    const thead = document.createElement('thead');
    thead.append(row(['I can …', 'At the start', 'Now', 'Change'], true));
    const tbody = document.createElement('tbody');
    let up = 0;
    sa.outcomes.forEach((o, i) => {
      const a = start ? start.ratings[i] : null;
      const b = st.end.ratings[i];
      let change = 'not rated at the start';
      if (a) {
        const d = b - a;
        if (d > 0) up++;
        change = d === 0 ? 'no change' : (d > 0 ? `up ${d}` : `down ${-d}`);
      }
      tbody.append(row([o.text, a ? String(a) : '–', String(b), change]));
    });
    table.append(thead, tbody);
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'group');
    wrap.setAttribute('aria-label', 'Table (scrolls sideways)');
    wrap.append(table);
    const summary = document.createElement('p');
    summary.textContent = start
      ? `Your confidence went up for ${up} of ${sa.outcomes.length} learning outcomes.`
      : 'You did not rate your confidence at the start of the module, so there is nothing to compare with.';
    body.append(summary, wrap);
    for (const [label, entry] of [['At the start you wrote:', start], ['Now you wrote:', st.end]]) {
      if (!entry || !(entry.text || '').trim()) continue;
      const p = document.createElement('p');
      const b = document.createElement('strong');
      b.textContent = label + ' ';
      p.append(b, entry.text);
      body.append(p);
    }
    box.hidden = false;
  }

  // ---- reflections ---------------------------------------------------------

  function wireReflections() {
    for (const ta of $$('[data-reflection-input]')) {
      const id = ta.dataset.reflectionInput;
      ta.value = state.reflections[id] || '';
      const status = $('[data-save-status]', ta.closest('.reflection'));
      const saved = debounce(() => { status.textContent = 'Saved.'; }, SAVE_DELAY);
      ta.addEventListener('input', () => {
        state.reflections[id] = ta.value;
        save();
        saved();
        if (state.page === summaryPageId()) refreshReflections();
      });
      ta.addEventListener('change', () => {
        if (!ta.value.trim()) return;
        // The text stays private in the learner's state; the statement only
        // records that they reflected.
        send(statement('responded', {
          objectType: 'Activity', id: data.auIri + '/reflections/' + id,
          definition: { type: ACT_REFLECTION, name: { 'en-GB': 'Reflection ' + id } },
        }, { parent: true, result: { completion: true } }));
      });
    }
  }

  const refreshReflections = debounce(() => renderReflections(), SAVE_DELAY);

  function renderReflections() {
    const box = $('[data-my-reflections]');
    if (!box) return;
    const items = data.reflections.filter((id) => (state.reflections[id] || '').trim());
    box.textContent = '';
    if (items.length === 0) {
      const p = document.createElement('p');
      p.textContent = 'You have not written any reflections in this module yet. You can go back to any page and add them.';
      box.append(p);
      return;
    }
    for (const id of items) {
      const src = $(`[data-reflection="${CSS.escape(id)}"]`);
      const div = document.createElement('div');
      div.className = 'item';
      const prompt = document.createElement('p');
      prompt.className = 'reflection-label';
      prompt.textContent = src ? $('.reflection-prompt', src).textContent.trim() : id;
      div.append(prompt);
      for (const para of state.reflections[id].split(/\n\s*\n/)) {
        const p = document.createElement('p');
        p.textContent = para;
        div.append(p);
      }
      if (src) {
        const page = src.closest('section.page').dataset.page;
        const a = document.createElement('a');
        a.href = '#page-' + page;
        a.textContent = 'Edit this reflection on the page "' + data.pages.find((x) => x.id === page).title + '"';
        div.append(a);
      }
      box.append(div);
    }
  }

  // ---- drafts: offer-builder and action plan --------------------------------

  const JARGON = [
    ['utilise', 'use'], ['utilize', 'use'], ['facilitate', 'help, run or lead'], ['commence', 'start'],
    ['in order to', 'to'], ['prior to', 'before'], ['approximately', 'about'], ['additional', 'extra or more'],
    ['assistance', 'help'], ['in the event that', 'if'], ['on a weekly basis', 'every week'],
    ['participants', 'people who come'], ['service users', 'people'], ['beneficiaries', 'people'],
    ['stakeholders', 'people involved'], ['cohort', 'group'], ['intervention', 'activity or session'],
    ['holistic', 'whole-person'], ['co-production', 'working together'], ['co-produced', 'made together'],
    ['signpost', 'point people to'], ['signposting', 'pointing people to'], ['deliver', 'run'], ['delivery', 'running'],
    ['engagement', 'taking part'], ['modality', 'type of activity'], ['psychosocial', 'emotional and social'],
    ['multidisciplinary', 'with different professions'], ['evidence-based', 'shown to work'],
    ['wellbeing outcomes', 'how people feel'], ['capacity', 'places or time'], ['pathway', 'route'],
    ['ameliorate', 'improve'], ['endeavour', 'try'], ['provision', 'what we offer'], ['accessible to all', 'open to everyone (say how)'],
    ['socially prescribed', 'referred by a link worker'], ['onward referral', 'passing on to another service'],
  ];

  function syllables(word) {
    const w = word.toLowerCase().replace(/[^a-z]/g, '');
    if (!w) return 0;
    if (w.length <= 3) return 1;
    const groups = w.replace(/(?:[^laeiouy]es|ed|[^laeiouy]e)$/, '').replace(/^y/, '').match(/[aeiouy]{1,2}/g);
    return Math.max(1, groups ? groups.length : 1);
  }

  // analyse returns plain-language measures of text: sentence lengths,
  // jargon found, and a reading age (Flesch-Kincaid grade + 5).
  function analyse(text) {
    const sentences = text.split(/(?<=[.!?])\s+|\n+/).map((s) => s.trim()).filter((s) => /[A-Za-z0-9]/.test(s));
    const words = (s) => s.split(/\s+/).filter((w) => /[A-Za-z0-9]/.test(w));
    const all = words(text);
    if (all.length === 0) return null;
    const lengths = sentences.map((s) => words(s).length);
    const longest = sentences[lengths.indexOf(Math.max(...lengths))];
    const syl = all.reduce((n, w) => n + syllables(w), 0);
    const grade = 0.39 * (all.length / sentences.length) + 11.8 * (syl / all.length) - 15.59;
    const lower = text.toLowerCase();
    const jargon = JARGON.filter(([term]) => new RegExp(`\\b${term.replace(/[-]/g, '\\-')}\\b`).test(lower));
    return {
      words: all.length, sentences: sentences.length,
      average: Math.round(all.length / sentences.length), longest: Math.max(...lengths), longestText: longest,
      readingAge: Math.max(5, Math.round(grade + 5)), jargon,
    };
  }

  function renderHints(box, text, summary) {
    const a = analyse(text);
    if (summary) {
      summary.textContent = a
        ? `Hints updated: reading age about ${a.readingAge}, longest sentence ${a.longest} words, ${a.jargon.length} jargon ${a.jargon.length === 1 ? 'word' : 'words'} found.`
        : '';
    }
    box.textContent = '';
    const ul = document.createElement('ul');
    const li = (t) => { const l = document.createElement('li'); l.textContent = t; ul.append(l); };
    if (!a) {
      li('Start writing and hints appear here.');
    } else {
      li(`Average sentence: ${a.average} words. Aim for 15 to 20 words or fewer.`);
      li(`Longest sentence: ${a.longest} words${a.longest > 25 ? ': try splitting "' + a.longestText.slice(0, 60) + (a.longestText.length > 60 ? '…' : '') + '"' : ''}.`);
      li(`Reading age: about ${a.readingAge} years. Aim for 9 to 11 years so most people can read it easily.`);
      if (a.jargon.length === 0) li('No jargon from our list found.');
      for (const [term, plain] of a.jargon) li(`Jargon: "${term}". Try "${plain}".`);
    }
    box.append(ul);
  }

  function draftText(name) {
    const d = data.drafts[name];
    const values = state.drafts[name] || {};
    let out = d.title + '\n' + '='.repeat(d.title.length) + '\n\n';
    for (const f of d.fields) {
      out += f.label + '\n' + '-'.repeat(f.label.length) + '\n' + (values[f.id] || '').trim() + '\n\n';
    }
    return out;
  }

  function printDraft(name) {
    const d = data.drafts[name];
    const values = state.drafts[name] || {};
    const area = $('[data-print-area]');
    area.textContent = '';
    const h = document.createElement('h1');
    h.textContent = d.title;
    area.append(h);
    for (const f of d.fields) {
      const h2 = document.createElement('h2');
      h2.textContent = f.label;
      area.append(h2);
      for (const para of (values[f.id] || '').split(/\n\s*\n/)) {
        const p = document.createElement('p');
        p.textContent = para;
        area.append(p);
      }
    }
    document.documentElement.classList.add('printing');
    window.addEventListener('afterprint', () => document.documentElement.classList.remove('printing'), { once: true });
    window.print();
  }

  // placeHints moves the plain-language hints to sit just after the field
  // being typed, and names the field they are about.
  function placeHints(box, ta) {
    const field = ta.closest('.field');
    if (!box || !field || field.nextElementSibling === box) return;
    field.after(box);
    const title = $('.plain-hints-title', box);
    const label = $(`label[for="${CSS.escape(ta.id)}"]`);
    if (title && label) title.textContent = `Plain-language hints: ${label.textContent}`;
  }

  function wireDrafts() {
    for (const form of $$('form.draft')) {
      const name = form.dataset.draft;
      const d = data.drafts[name];
      if (!d) continue;
      state.drafts[name] = state.drafts[name] || {};
      const status = $('[data-save-status]', form);
      const hintBox = $('[data-hints]', form);
      const allText = () => d.fields.map((f) => state.drafts[name][f.id] || '').join('\n');
      const summary = $('[data-hints-summary]', form);
      // The hints follow the field being typed and measure that field.
      let typing = null;
      const hints = debounce(() => hintBox && renderHints(hintBox, typing ? typing.value : allText(), summary), HINT_DELAY);
      const saved = debounce(() => { status.textContent = 'Draft saved.'; }, SAVE_DELAY);
      for (const ta of $$('textarea[data-field]', form)) {
        ta.value = state.drafts[name][ta.dataset.field] || '';
        ta.addEventListener('input', () => {
          if (typing !== ta && hintBox) placeHints(hintBox.closest('.plain-hints'), ta);
          typing = ta;
          state.drafts[name][ta.dataset.field] = ta.value;
          save();
          saved();
          hints();
        });
        ta.addEventListener('change', () => {
          saveRemoteSoon.flush();
          send(statement('updated', {
            objectType: 'Activity', id: d.iri,
            definition: { type: ACT_DRAFT, name: { 'en-GB': d.title } },
          }, { parent: true, result: { extensions: { 'https://reach.london/xapi/extensions/field': ta.dataset.field } } }));
        });
      }
      if (hintBox && allText().trim()) renderHints(hintBox, allText());
      $('[data-draft-download]', form).addEventListener('click', () => {
        const blob = new Blob([draftText(name)], { type: 'text/plain;charset=utf-8' });
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = (name === 'offer' ? 'my-offer' : 'my-action-plan') + '.txt';
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      });
      $('[data-draft-print]', form).addEventListener('click', () => printDraft(name));
    }
  }

  // ---- session start and end -----------------------------------------------

  // terminate ends the session: a held-back failed result, then
  // terminated, in one request so they arrive together and in order.
  async function terminate(keepalive) {
    if (!tracked || sentThisSession.terminated) return;
    sentThisSession.terminated = true;
    sessionStore.set(sessionKey, 'terminated');
    const batch = [];
    if (pendingFail && !state.passed && !sentThisSession.judged && mayJudge()) {
      sentThisSession.judged = true;
      batch.push(statement('failed', auActivity(), { cmi5: true, moveOn: true, mastery: true, result: { ...pendingFail, duration: duration() } }));
    }
    batch.push(statement('terminated', auActivity(), { cmi5: true, result: { duration: duration() } }));
    if (keepalive) {
      send(batch, true);
    } else {
      await send(batch);
    }
    tracked = false;
    online = false;
  }

  function wireExit() {
    $('[data-exit]').addEventListener('click', async () => {
      state.updated = Date.now();
      saveLocal();
      saveRemoteSoon.flush();
      await saveRemote();
      await terminate(false);
      const back = launchData.returnURL;
      if (back) {
        location.assign(back);
      } else if (!launch) {
        banner('Your progress is saved in this browser. You can close this window.');
        $('[data-banner]').focus();
      } else {
        banner('Your progress is saved and this session has ended. You can close this window.');
        $('[data-banner]').focus();
      }
    });
    // When the window closes or the page reloads, only the state is saved.
    // The session stays open: a reload carries on with the same token and
    // session, and a closed window is recorded as abandoned by the LMS when
    // the learner next launches or the session times out (cmi5 9.3.7), as
    // the page cannot tell a reload from a close.
    window.addEventListener('pagehide', () => {
      if (!tracked) return;
      state.updated = Date.now();
      saveLocal();
      saveRemote(true);
    });
    // Phones may discard a hidden tab without pagehide: save when hidden.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'hidden') return;
      state.updated = Date.now();
      saveLocal();
      if (online) saveRemote(true);
    });
    window.addEventListener('pageshow', (ev) => {
      if (ev.persisted && sessionKey && sessionStore.get(sessionKey) === 'terminated') endedBanner();
    });
  }

  function endedBanner() {
    tracked = false;
    online = false;
    const back = sessionKey && sessionStore.get(sessionKey + '|return');
    banner('This session has ended, so new progress is only saved in this browser. To keep recording your progress, go back to the course and launch the module again: you will carry on where you left off.',
      back ? { href: back, text: 'Go back to the course' } : null);
  }

  async function start() {
    try {
      data = await (await fetch('au.json', { credentials: 'omit' })).json();
    } catch (e) {
      banner('This module could not load its data. Try reloading the page.');
      return;
    }
    try {
      launch = readLaunch();
    } catch (e) {
      launch = null;
    }
    // The phase of this launch (keyed by its one-time fetch URL) survives a
    // reload: a session that has ended cannot send more statements, and
    // the LMS has revoked its token.
    sessionKey = launch ? 'reach.cmi5.phase|' + launch.fetch : '';
    const phase = sessionKey ? sessionStore.get(sessionKey) : null;
    if (launch && phase === 'terminated') {
      endedBanner();
    } else if (launch) {
      try {
        token = await getToken();
        const ld = await getJSON('activities/state', stateParams('LMS.LaunchData'));
        if (!ld.found) throw new Error('the launch data is missing');
        launchData = ld.body;
        if (launchData.returnURL) sessionStore.set(sessionKey + '|return', launchData.returnURL);
        // cmi5 11.0: read the learner preferences at startup. The course is
        // in English only and has no audio, so there is nothing to apply.
        await getJSON('agents/profile', { agent: JSON.stringify(launch.actor), profileId: 'cmi5LearnerPreferences' }).catch(() => null);
        online = true;
        tracked = true;
      } catch (e) {
        banner(`This module could not connect to the course (${e.message}). You can read it, and your answers are kept in this browser.`);
        tracked = false;
      }
    } else {
      banner('You are viewing this module outside the course, so your progress is only saved in this browser.');
    }
    await loadState();
    state.role = await loadRole() || state.role;

    if (tracked && phase !== 'initialized') {
      sessionStore.set(sessionKey, 'initialized');
      send(statement('initialized', auActivity(), { cmi5: true }));
    }
    if (tracked && launchData.launchMode && launchData.launchMode !== 'Normal') {
      banner(`This module is open in ${launchData.launchMode.toLowerCase()} mode: your results are not recorded.`);
    }

    wireRoleForm();
    wireQuestions();
    wireReflections();
    wireDrafts();
    wireScenarios();
    wireSelfAssessments();
    wireExit();
    applyRole();
    restoreQuestions();

    $('.skip-link').addEventListener('click', (ev) => {
      ev.preventDefault();
      $('#main').focus();
    });
    window.addEventListener('hashchange', () => {
      const id = currentId();
      if (id) show(id, true);
    });
    const first = currentId() || state.page || path()[0].id;
    if (location.hash !== '#page-' + first) history.replaceState(null, '', '#page-' + first);
    show(first, false);
    document.documentElement.dataset.ready = 'true';
  }

  // The plain-language measures, for the offer-builder's tests.
  window.reachPlainLanguage = { analyse };

  start();
})();
