/* The door screen (templates/checkin/door.html): scan QR tickets with the phone's camera and say
   at once, in colour, whether to let the fan in; find fans by name; keep working offline from a
   guest list kept on the phone, and sync the offline scans when the network is back. */
(function () {
  'use strict';

  const root = document.getElementById('door');
  if (!root) return;
  const config = JSON.parse(document.getElementById('door-config').textContent);
  const T = config.strings;
  const urls = config.urls;
  const meetupId = config.meetup.id;

  const SHOW_OK_MS = 2000;        // a green screen, then ready for the next fan
  const SHOW_OTHER_MS = 3500;     // amber and red say more: a little longer to read
  const HOLD_MS = 4000;           // a code still in front of the camera is not sent again
  const SCAN_EVERY_MS = 150;
  const POLL_MS = 5000;           // arrived / expected, missing, recent, conflicts
  const ROSTER_MS = 60000;        // the guest list for offline checks
  const SYNC_RETRY_MS = 10000;
  const TIMEOUT_MS = 6000;
  const QUICK_TIMEOUT_MS = 2500;  // while the server is known to be unreachable

  const el = (name) => root.querySelector(`[data-door="${name}"]`);
  function t(key, values) {
    let text = T[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(value);
    return text;
  }

  /* ---------- Storage: everything per meetup, in localStorage (a guest list is ≤ 50 rows) ---- */
  const keys = {
    device: 'door.device',
    sound: 'door.sound',
    roster: `door.roster.${meetupId}`,
    queue: `door.queue.${meetupId}`,
    marks: `door.marks.${meetupId}`,
  };
  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (error) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (error) { /* private mode or full: it lives in memory until the page closes */ }
  }

  function newNonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // The device: an id made once, and a short name people read ("Door A") sent with each scan.
  const device = load(keys.device, null) || { id: newNonce(), name: '' };
  if (!device.name) device.name = t('device_default', { code: device.id.slice(0, 4).toUpperCase() });
  save(keys.device, device);

  let roster = load(keys.roster, null);        // {generated_at, loaded_at, entries: [...]}
  let queue = load(keys.queue, []);            // offline scans not yet synced
  let marks = load(keys.marks, {});            // registration_id → {at, name}: let in offline here
  let rosterByHash = new Map();
  let rosterById = new Map();
  function indexRoster() {
    const entries = (roster && roster.entries) || [];
    rosterByHash = new Map();
    for (const entry of entries) {
      // Codes signed with a previous ticket key (after a rotation) still admit.
      for (const digest of [entry.code_sha256, ...(entry.code_sha256_previous || [])]) rosterByHash.set(digest, entry);
    }
    rosterById = new Map(entries.map((entry) => [String(entry.registration_id), entry]));
  }
  indexRoster();

  /* ---------- Times, in the meetup's city ---------- */
  function parseTime(iso) {
    if (!iso) return null;
    // Naive times from the server are UTC.
    const text = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
    const moment = new Date(text);
    return Number.isNaN(moment.getTime()) ? null : moment;
  }
  function formatTime(iso) {
    const moment = parseTime(iso);
    if (!moment) return '';
    const options = { hour: '2-digit', minute: '2-digit', timeZone: config.meetup.timezone };
    if (Math.abs(Date.now() - moment.getTime()) > 12 * 3600 * 1000) {
      Object.assign(options, { month: 'short', day: 'numeric' });
    }
    try {
      return new Intl.DateTimeFormat(config.locale, options).format(moment);
    } catch (error) {
      return moment.toLocaleString();
    }
  }
  function formatDate(iso) {
    const moment = parseTime(iso);
    if (!moment) return '';
    try {
      return new Intl.DateTimeFormat(config.locale, {
        year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
        timeZone: config.meetup.timezone,
      }).format(moment);
    } catch (error) {
      return moment.toLocaleString();
    }
  }
  function byWhom(by) {
    if (!by) return '';
    const deviceName = by.device === device.name ? t('this_phone') : (by.device || '');
    if (deviceName && by.user) return t('by', { device: deviceName, user: by.user });
    return deviceName || by.user || '';
  }

  /* ---------- Talking to the server ---------- */
  class Offline extends Error {}
  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = error && error.code;
    }
  }
  let reachable = true;   // the last request got an answer
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // One request; a network failure is retried with the same body (so the same nonce: the server
  // answers a replay as it answered the first). Throws Offline when the server cannot be reached.
  async function call(method, url, body, retries = 1) {
    if (!navigator.onLine) throw new Offline();
    // Once the server has not answered, the next fan is not kept waiting for long.
    const patience = reachable ? TIMEOUT_MS : QUICK_TIMEOUT_MS;
    if (!reachable) retries = 0;
    for (let attempt = 0; ; attempt += 1) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), patience);
      let response;
      try {
        response = await fetch(url, {
          method,
          credentials: 'same-origin',
          headers: body === undefined ? { Accept: 'application/json' }
            : { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRFToken': config.csrf_token },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (error) {
        response = null;
      } finally {
        clearTimeout(timer);
      }
      // 502–504: a proxy answered, the application was not reached.
      if (!response || (response.status >= 502 && response.status <= 504)) {
        if (attempt < retries && navigator.onLine) {
          await sleep(700);
          continue;
        }
        setReachable(false);
        throw new Offline();
      }
      setReachable(true);
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, data && data.error);
      return data;
    }
  }
  const post = (url, body) => call('POST', url, body);
  const get = (url) => call('GET', url, undefined, 0);

  function explain(error) {
    if (error.status === 401) return t('signed_out');
    if (error.status === 403) return t('forbidden');
    return t('error', { message: error.message });
  }
  // A refused request, said below the camera; signed out, with the way back in.
  function problem(error) {
    toast(explain(error), true, error.status === 401 ? config.login_url : null);
  }

  /* ---------- Online / offline, the queue ---------- */
  function setReachable(value) {
    if (reachable === value) return;
    reachable = value;
    renderStatus();
    if (value) syncQueue();
  }
  const isOnline = () => navigator.onLine && reachable;

  function renderStatus() {
    const net = el('net');
    const online = isOnline();
    net.textContent = `${online ? '●' : '○'} ${online ? t('online') : t('offline')}`;
    net.classList.toggle('is-online', online);
    net.classList.toggle('is-offline', !online);
    const badge = el('queue');
    badge.hidden = queue.length === 0;
    badge.textContent = `⏳ ${queue.length === 1 ? t('queue_one') : t('queue_many', { count: queue.length })}`;
    const local = el('local');
    local.hidden = queue.length === 0;
    local.textContent = `+${queue.length} 📴`;
  }

  function saveQueue() {
    save(keys.queue, queue);
    save(keys.marks, marks);
    renderStatus();
  }

  let syncing = false;
  async function syncQueue() {
    if (syncing || queue.length === 0 || !navigator.onLine) return;
    syncing = true;
    const batch = queue.slice();
    try {
      const answer = await post(urls.sync, {
        device: device.name,
        scans: batch.map((scan) => ({ nonce: scan.nonce, registration_id: scan.registration_id, scanned_at: scan.scanned_at })),
      });
      const done = new Set();
      for (const item of answer.results || []) {
        done.add(item.nonce);
        const scan = batch.find((s) => s.nonce === item.nonce);
        if (item.conflict) {
          addLocalConflict({ ...item.conflict, name: item.conflict.name || (item.attendee && item.attendee.name) || (scan && scan.name) });
        } else if (item.result !== 'admitted' && item.result !== 'already_checked_in' && scan) {
          addLocalConflict({ refused: true, name: scan.name, message: refusalText(item) });
        }
      }
      queue = queue.filter((scan) => !done.has(scan.nonce));
      saveQueue();
      setCounts(answer.arrived, answer.expected);
      if (done.size) toast(t('synced', { count: done.size }));
      refreshDoor();
    } catch (error) {
      if (error instanceof ApiError) problem(error);
    } finally {
      syncing = false;
    }
  }
  window.addEventListener('online', () => {
    renderStatus();
    refreshDoor();
    refreshRoster();
    syncQueue();
  });
  window.addEventListener('offline', () => renderStatus());
  setInterval(syncQueue, SYNC_RETRY_MS);

  /* ---------- The result screen ---------- */
  const result = el('result');
  let resultTimer = null;
  let resultOpen = false;
  let busy = false;

  function show(view) {
    clearTimeout(resultTimer);
    result.className = `door-result tone-${view.tone} kind-${view.kind}`;
    el('result-title').textContent = view.title;
    el('result-name').textContent = view.name || '';
    el('result-name').hidden = !view.name;
    el('result-detail').textContent = view.detail || '';
    el('result-detail').hidden = !view.detail;
    el('result-offline').hidden = !view.offline;
    const ms = view.tone === 'ok' ? SHOW_OK_MS : SHOW_OTHER_MS;
    const timer = el('result-timer');
    timer.style.animation = 'none';
    void timer.offsetWidth;  // restart the countdown bar
    timer.style.animation = '';
    timer.style.setProperty('--door-ms', `${ms}ms`);
    result.hidden = false;
    resultOpen = true;
    signal(view.tone);
    resultTimer = setTimeout(hideResult, ms);
  }
  function hideResult() {
    clearTimeout(resultTimer);
    result.hidden = true;
    resultOpen = false;
  }
  result.addEventListener('click', hideResult);

  function refusalText(answer) {
    if (answer.result === 'not_admitted') return T[`reason_${answer.reason}`] || answer.message || t('not_admitted');
    if (answer.result === 'wrong_meetup') return t('wrong_meetup');
    if (answer.result === 'invalid') return t('invalid');
    return answer.message || answer.result;
  }

  // What the server said, as the screen shows it.
  function viewOf(answer) {
    const name = answer.attendee ? answer.attendee.name : '';
    switch (answer.result) {
      case 'admitted':
        return { tone: 'ok', kind: 'admitted', title: t('admitted'), name };
      case 'already_checked_in':
        return {
          tone: 'warn', kind: 'already', title: t('already'), name,
          detail: answer.checked_in_by
            ? t('already_detail', { time: formatTime(answer.checked_in_at), who: byWhom(answer.checked_in_by) })
            : t('already_at', { time: formatTime(answer.checked_in_at) }),
        };
      case 'wrong_meetup': {
        const other = answer.ticket_meetup;
        const city = other && (config.locale === 'zh-CN' && other.city_zh ? other.city_zh : other.city);
        const where = other ? [other.title, city, formatDate(other.starts_at)].filter(Boolean).join(' · ') : '';
        return { tone: 'bad', kind: 'wrong', title: t('wrong_meetup'), name, detail: t('wrong_meetup_detail', { meetup: where }) };
      }
      case 'not_admitted':
        return { tone: 'bad', kind: 'stop', title: t('not_admitted'), name, detail: refusalText(answer) };
      case 'invalid':
        return { tone: 'bad', kind: 'invalid', title: t('invalid'), detail: t('invalid_detail') };
      default:
        return { tone: 'bad', kind: 'invalid', title: answer.message || answer.result };
    }
  }

  /* ---------- Sound and vibration ---------- */
  let audio = null;
  let soundOn = load(keys.sound, true);
  function unlockAudio() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
    } catch (error) { audio = null; }
  }
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  function signal(tone) {
    if (navigator.vibrate) {
      try { navigator.vibrate({ ok: 80, warn: [80, 60, 80], bad: 400 }[tone]); } catch (error) { /* not allowed */ }
    }
    if (!soundOn) return;
    unlockAudio();
    if (!audio) return;
    const beeps = { ok: [[880, 0, 0.14]], warn: [[660, 0, 0.1], [660, 0.18, 0.1]], bad: [[196, 0, 0.45]] }[tone];
    const start = audio.currentTime + 0.01;
    for (const [frequency, offset, length] of beeps) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = tone === 'bad' ? 'square' : 'sine';
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + length + 0.02);
    }
  }
  function renderSound() {
    const button = el('sound');
    button.textContent = soundOn ? `🔊 ${t('sound_on')}` : `🔇 ${t('sound_off')}`;
    button.setAttribute('aria-pressed', String(soundOn));
  }
  el('sound').addEventListener('click', () => {
    soundOn = !soundOn;
    save(keys.sound, soundOn);
    renderSound();
  });

  /* ---------- Checking a ticket code or a registration ---------- */
  let last = null;  // the last check-in made here: {registration_id, name, at, nonce, offline}

  function remember(answer, nonce) {
    if (answer.result !== 'admitted' || !answer.attendee) return;
    last = { registration_id: answer.attendee.registration_id, name: answer.attendee.name, at: answer.checked_in_at, nonce };
    renderLast();
  }

  // Online first; if the server cannot be reached, `offline(nonce)` decides from the guest list.
  // One nonce per check: a retried request is the same check.
  async function check(url, fields, offline) {
    busy = true;
    const nonce = newNonce();
    if (stream) cameraMessage(t('checking'));
    try {
      const answer = await post(url, { ...fields, nonce, device: device.name });
      setCounts(answer.arrived, answer.expected);
      show(viewOf(answer));
      remember(answer, nonce);
      refreshDoor();
      if (lastQuery) search(lastQuery);
    } catch (error) {
      if (error instanceof Offline) await offline(nonce);
      else failed(error);
    } finally {
      busy = false;
      if (stream) cameraMessage(t('camera_ready'));
    }
  }

  const checkCode = (code) => check(urls.checkins, { code }, (nonce) => checkOffline(code, nonce));

  const checkRegistration = (registrationId) => check(urls.manual, { registration_id: registrationId }, (nonce) => {
    const entry = rosterById.get(String(registrationId));
    if (entry) admitOffline(entry, nonce);
    else show({ tone: 'bad', kind: 'invalid', title: t('offline_unknown'), offline: true });
  });

  function failed(error) {
    show({ tone: 'bad', kind: 'stop', title: explain(error) });
    if (error.status === 401) problem(error);
  }

  async function sha256(text) {
    if (!(window.crypto && crypto.subtle)) return null;
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function checkOffline(code, nonce) {
    if (!roster) {
      show({ tone: 'warn', kind: 'already', title: t('offline'), detail: t('no_roster'), offline: true });
      return;
    }
    const digest = await sha256(code);
    if (digest === null) {
      show({ tone: 'warn', kind: 'already', title: t('offline'), detail: t('no_digest'), offline: true });
      return;
    }
    const entry = rosterByHash.get(digest);
    if (!entry) {
      show({ tone: 'bad', kind: 'invalid', title: t('offline_unknown'), detail: t('offline_unknown_detail'), offline: true });
      return;
    }
    admitOffline(entry, nonce);
  }

  function admitOffline(entry, nonce) {
    const id = String(entry.registration_id);
    if (marks[id]) {
      show({ tone: 'warn', kind: 'already', title: t('already_here'), name: entry.name,
        detail: t('already_at', { time: formatTime(marks[id].at) }), offline: true });
      return;
    }
    if (entry.checked_in_at) {
      show({ tone: 'warn', kind: 'already', title: t('already'), name: entry.name,
        detail: t('already_at', { time: formatTime(entry.checked_in_at) }), offline: true });
      return;
    }
    const at = new Date().toISOString();
    queue.push({ nonce, registration_id: entry.registration_id, scanned_at: at, name: entry.name });
    marks[id] = { at, name: entry.name };
    saveQueue();
    show({ tone: 'ok', kind: 'admitted', title: t('admitted'), name: entry.name, offline: true });
    last = { registration_id: entry.registration_id, name: entry.name, at, nonce, offline: true };
    renderLast();
  }

  /* ---------- Undo, with a confirm step ---------- */
  const confirmDialog = el('confirm');
  function askUndo(registrationId, name) {
    el('confirm-question').textContent = t('undo_question', { name });
    confirmDialog.returnValue = '';
    confirmDialog.onclose = () => {
      if (confirmDialog.returnValue === 'undo') undo(registrationId, name);
    };
    confirmDialog.showModal();
  }

  async function undo(registrationId, name) {
    const id = String(registrationId);
    const queued = queue.find((scan) => String(scan.registration_id) === id);
    if (queued) {  // never reached the server: forget it here
      queue = queue.filter((scan) => scan !== queued);
      delete marks[id];
      saveQueue();
      afterUndo(id, name);
      return;
    }
    try {
      const answer = await post(urls.undo.replace('{registration_id}', id), { device: device.name });
      delete marks[id];
      saveQueue();
      setCounts(answer.arrived, answer.expected);
      afterUndo(id, name);
      refreshDoor();
      if (lastQuery) search(lastQuery);
    } catch (error) {
      if (error instanceof Offline) toast(t('undo_offline'), true);
      else problem(error);
    }
  }
  function afterUndo(id, name) {
    if (last && String(last.registration_id) === id) last = null;
    renderLast();
    toast(t('undone', { name }));
  }

  function renderLast() {
    const bar = el('last');
    bar.hidden = !last;
    if (!last) return;
    el('last-name').textContent = last.name;
    el('last-time').textContent = `${formatTime(last.at)}${last.offline && queue.some((s) => s.nonce === last.nonce) ? ' 📴' : ''}`;
  }
  el('last-undo').addEventListener('click', () => last && askUndo(last.registration_id, last.name));

  let toastTimer = null;
  function toast(text, isError, link) {
    const note = el('toast');
    note.textContent = text;
    if (link) {
      const signIn = document.createElement('a');
      signIn.href = link;
      signIn.textContent = t('sign_in');
      note.append(' ', signIn);
    }
    note.classList.toggle('is-error', Boolean(isError));
    note.hidden = false;
    clearTimeout(toastTimer);
    if (!link) toastTimer = setTimeout(() => { note.hidden = true; }, 6000);  // the way back in stays
  }

  /* ---------- Lists: missing, recent, conflicts, search hits ---------- */
  function button(label, classes, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `button ${classes}`;
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  }
  function item(parts, action) {
    const li = document.createElement('li');
    const text = document.createElement('div');
    text.className = 'door-item-text';
    parts.forEach(([content, className]) => {
      if (!content) return;
      const span = document.createElement('span');
      span.className = className || '';
      span.textContent = content;
      text.append(span);
    });
    li.append(text);
    if (action) li.append(action);
    return li;
  }
  function fill(list, items, emptyText) {
    list.replaceChildren(...items);
    if (!items.length && emptyText) list.append(item([[emptyText, 'muted']]));
  }

  let counts = { arrived: null, expected: null };
  function setCounts(arrived, expected) {
    if (typeof arrived === 'number') counts.arrived = arrived;
    if (typeof expected === 'number') counts.expected = expected;
    el('arrived').textContent = counts.arrived === null ? '–' : String(counts.arrived);
    el('expected').textContent = counts.expected === null ? '–' : String(counts.expected);
  }

  let doorConflicts = [];
  let localConflicts = [];
  function addLocalConflict(conflict) {
    if (conflict.id !== undefined && conflict.id !== null) return;  // the server lists it (GET /door)
    localConflicts.push(conflict);
    renderConflicts();
  }
  function renderConflicts() {
    const items = [];
    const shown = new Set(doorConflicts.map((c) => c.id));
    for (const conflict of [...doorConflicts, ...localConflicts.filter((c) => !shown.has(c.id))]) {
      const dismiss = button(t('dismiss'), 'door-small', () => dismissConflict(conflict));
      if (conflict.refused) {
        items.push(item([[t('conflict_refused', { name: conflict.name, message: conflict.message }), 'door-item-name']], dismiss));
        continue;
      }
      const side = (s) => s ? { who: byWhom(s), time: formatTime(s.at) } : { who: '', time: '' };
      items.push(item([
        [t('conflict_title', { name: conflict.name || '' }), 'door-item-name'],
        [t('conflict_first', side(conflict.first)), 'door-item-meta'],
        [t('conflict_second', side(conflict.second)), 'door-item-meta'],
      ], dismiss));
    }
    el('conflicts').hidden = items.length === 0;
    fill(el('conflict-list'), items);
  }
  async function dismissConflict(conflict) {
    if (conflict.id === undefined || conflict.id === null) {
      localConflicts = localConflicts.filter((c) => c !== conflict);
      renderConflicts();
      return;
    }
    try {
      await post(urls.dismiss.replace('{conflict_id}', String(conflict.id)), { device: device.name });
      doorConflicts = doorConflicts.filter((c) => c.id !== conflict.id);
      renderConflicts();
    } catch (error) {
      if (error instanceof Offline) toast(t('offline'), true);
      else problem(error);
    }
  }

  async function refreshDoor() {
    let door;
    try {
      door = await get(urls.door);
    } catch (error) {
      if (error instanceof ApiError) problem(error);
      return;
    }
    setCounts(door.arrived, door.expected);
    el('missing-count').textContent = String((door.missing || []).length);
    fill(el('missing'), (door.missing || []).map((fan) => item([[fan.name, 'door-item-name']],
      button(t('check_in'), 'primary door-small', () => checkRegistration(fan.registration_id)))), t('missing_none'));
    fill(el('recent'), (door.recent || []).map((entry) => item([
      [entry.name, 'door-item-name'],
      [[formatTime(entry.checked_in_at), byWhom(entry)].filter(Boolean).join(' · '), 'door-item-meta'],
    ], button(t('undo'), 'danger door-small', () => askUndo(entry.registration_id, entry.name)))), t('recent_none'));
    doorConflicts = door.conflicts || [];
    renderConflicts();
  }

  /* ---------- The guest list for offline checks ---------- */
  async function refreshRoster() {
    try {
      const answer = await get(urls.roster);
      roster = { generated_at: answer.generated_at, loaded_at: new Date().toISOString(), entries: answer.entries || [] };
      save(keys.roster, roster);
      indexRoster();
      // The server's list is the truth now; only scans still waiting to sync stay marked.
      const waiting = new Set(queue.map((scan) => String(scan.registration_id)));
      marks = Object.fromEntries(Object.entries(marks).filter(([id]) => waiting.has(id)));
      save(keys.marks, marks);
    } catch (error) { /* keep the list we have */ }
    renderRoster();
  }
  function renderRoster() {
    el('roster').textContent = roster
      ? `💾 ${t('roster_info', { count: roster.entries.length, time: formatTime(roster.loaded_at) })}`
      : t('roster_none');
  }

  /* ---------- Search by name, email or typed code ---------- */
  const TICKET_CODE = /^MT\d+\.\S+$/;
  let lastQuery = '';
  let searchTimer = null;
  let searchSerial = 0;

  function statusLabel(status) {
    return T[`status_${status}`] || status;
  }

  async function search(query) {
    lastQuery = query;
    const note = el('search-note');
    const hits = el('hits');
    if (query.length < 2) {
      note.hidden = true;
      hits.replaceChildren();
      return;
    }
    const serial = ++searchSerial;
    note.textContent = t('searching');
    note.hidden = false;
    let results;
    let offline = false;
    try {
      results = (await get(`${urls.search}?q=${encodeURIComponent(query)}`)).results || [];
    } catch (error) {
      if (!(error instanceof Offline)) {
        if (serial === searchSerial) {
          note.hidden = true;
          problem(error);
        }
        return;
      }
      offline = true;
      const wanted = query.toLocaleLowerCase();
      results = ((roster && roster.entries) || [])
        .filter((entry) => entry.name.toLocaleLowerCase().includes(wanted))
        .map((entry) => ({ ...entry, status: 'confirmed', email: '',
          checked_in_at: entry.checked_in_at || (marks[entry.registration_id] && marks[entry.registration_id].at) }));
    }
    if (serial !== searchSerial) return;  // a newer search has answered
    note.hidden = !offline;
    note.textContent = offline ? t('search_offline') : '';
    fill(hits, results.map((hit) => {
      const parts = [[hit.name, 'door-item-name'], [hit.email, 'door-item-meta']];
      let action = null;
      if (hit.checked_in_at) {
        parts.push([`✓ ${t('in_at', { time: formatTime(hit.checked_in_at) })}`, 'door-item-in']);
        action = button(t('undo'), 'danger door-small', () => askUndo(hit.registration_id, hit.name));
      } else if (hit.status === 'confirmed') {
        action = button(t('check_in'), 'primary door-small', () => checkRegistration(hit.registration_id));
      } else {
        parts.push([statusLabel(hit.status), 'door-item-status']);
      }
      return item(parts, action);
    }), t('search_none'));
  }

  const searchForm = el('search');
  const searchInput = searchForm.querySelector('input');
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    const query = searchInput.value.trim();
    if (TICKET_CODE.test(query)) return;  // a typed code is checked on Enter
    searchTimer = setTimeout(() => search(query), 250);
  });
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    const query = searchInput.value.trim();
    if (TICKET_CODE.test(query)) {
      searchInput.value = '';
      searchInput.blur();
      checkCode(query);
    } else {
      search(query);
    }
  });

  /* ---------- This phone's name ---------- */
  const deviceForm = el('device');
  const deviceInput = deviceForm.querySelector('input');
  deviceInput.value = device.name;
  deviceForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = deviceInput.value.trim().slice(0, 40);
    if (!name) return;
    device.name = name;
    save(keys.device, device);
    deviceInput.blur();
  });

  /* ---------- The camera ---------- */
  const video = root.querySelector('.door-camera video');
  const frame = document.createElement('canvas');
  const frameContext = frame.getContext('2d', { willReadFrequently: true });
  let stream = null;
  let detector = null;
  let scanTimer = null;
  let cameraWanted = true;
  const lastSeen = new Map();  // code → when a frame last showed it

  function cameraMessage(text) {
    const message = el('camera-msg');
    message.textContent = text;
    message.hidden = !text;
  }
  function renderCameraButton() {
    el('camera-toggle').textContent = stream ? `⏸ ${t('camera_pause')}` : `▶ ${t('camera_start')}`;
  }

  async function barcodeDetector() {
    if (!('BarcodeDetector' in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) return new window.BarcodeDetector({ formats: ['qr_code'] });
    } catch (error) { /* no backend on this platform */ }
    return null;
  }

  async function startCamera() {
    stopCamera();
    cameraMessage(t('camera_starting'));
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      cameraMessage(t('camera_unavailable'));
      return;
    }
    let opened;
    try {
      // `ideal`, not `exact`: a phone without a back camera (or a laptop) still opens one.
      opened = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      cameraMessage(error && error.name === 'NotAllowedError' ? t('camera_denied') : t('camera_unavailable'));
      renderCameraButton();
      return;
    }
    if (!cameraWanted) {  // paused while the camera was opening
      opened.getTracks().forEach((track) => track.stop());
      return;
    }
    stream = opened;
    lastSeen.clear();  // a restarted camera reads the ticket in front of it afresh
    video.srcObject = stream;
    try { await video.play(); } catch (error) { /* autoplay of a muted video is allowed */ }
    detector = detector || await barcodeDetector();
    cameraMessage(t('camera_ready'));
    renderCameraButton();
    scanTimer = setTimeout(scan, SCAN_EVERY_MS);
  }

  function stopCamera() {
    clearTimeout(scanTimer);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    renderCameraButton();
  }

  async function readCode() {
    if (!stream || video.readyState < 2 || !video.videoWidth) return null;
    if (detector) {
      try {
        const found = await detector.detect(video);
        return found.length ? found[0].rawValue : null;
      } catch (error) {
        detector = null;  // fall back to jsQR
      }
    }
    if (!window.jsQR) return null;
    const scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    if (frame.width !== width) frame.width = width;
    if (frame.height !== height) frame.height = height;
    frameContext.drawImage(video, 0, 0, width, height);
    const pixels = frameContext.getImageData(0, 0, width, height);
    const found = window.jsQR(pixels.data, width, height, { inversionAttempts: 'dontInvert' });
    return found && found.data ? found.data : null;
  }

  async function scan() {
    let code = null;
    try {
      code = await readCode();
    } catch (error) { /* a bad frame: try the next */ }
    if (code) seen(code.trim());
    if (stream) scanTimer = setTimeout(scan, SCAN_EVERY_MS);
  }

  // A code is sent once; while it stays in front of the camera (seen again within HOLD_MS) it
  // is not sent again. A new code waits until the screen is ready for the next fan.
  function seen(code) {
    const now = Date.now();
    const previous = lastSeen.get(code);
    if (previous !== undefined && now - previous < HOLD_MS) {
      lastSeen.set(code, now);
      return;
    }
    if (busy || resultOpen || confirmDialog.open) return;
    lastSeen.set(code, now);
    for (const [other, when] of lastSeen) if (now - when > HOLD_MS) lastSeen.delete(other);
    checkCode(code);
  }

  el('camera-toggle').addEventListener('click', () => {
    if (stream) {
      cameraWanted = false;
      stopCamera();
      cameraMessage(t('camera_paused'));
    } else {
      cameraWanted = true;
      startCamera();
    }
  });
  // A phone in a pocket does not film: the camera stops while the page is hidden.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) stopCamera();
    else if (cameraWanted && !stream) startCamera();
  });

  /* ---------- Start ---------- */
  renderStatus();
  renderSound();
  renderRoster();
  renderLast();
  renderCameraButton();
  startCamera();
  refreshDoor().then(syncQueue);
  refreshRoster();
  setInterval(() => { if (navigator.onLine && !document.hidden) refreshDoor(); }, POLL_MS);
  setInterval(() => { if (navigator.onLine && !document.hidden) refreshRoster(); }, ROSTER_MS);
}());
