// admin-calls.js is the console's calls page: the calls going on now (room,
// host, people, a live duration, each person's bitrate and packet loss,
// recording) with End call and Stop recording, and the past calls, searchable
// by room, person and date.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { confirmDialog } from './dialog.js';
import { shortWhen } from './format.js';
import {
  pageHead, section, dataTable, statusLine, errorBox, loading, missingRoute,
} from './admin-widgets.js';
import {
  clock, since, bitrate, percent, dateTime,
} from './admin-format.js';

const POLL_MS = 3000;
const HISTORY_LIMIT = 50;

/** callsPage returns {node, load(), refresh(), destroy()}. */
export function callsPage(ctx) {
  const head = pageHead({
    title: 'Calls',
    text: 'Calls going on now, refreshed every few seconds, and the calls of the past.',
  });
  const status = statusLine();
  const active = section({ title: 'Active calls' });
  const activeList = el('div', { class: 'admin-calls' }, loading());
  active.body.append(status.node, activeList);

  // ---------- Past calls: search ----------
  const room = el('input', { type: 'text', class: 'input', name: 'room', autocomplete: 'off', spellcheck: 'false' });
  const user = el('input', { type: 'text', class: 'input', name: 'user', autocomplete: 'off', spellcheck: 'false' });
  const from = el('input', { type: 'date', class: 'input', name: 'from' });
  const to = el('input', { type: 'date', class: 'input', name: 'to' });
  const labelled = (text, input) => el('label', { class: 'field admin-filter-field' }, el('span', { class: 'field-label' }, text), input);
  const go = el('button', { type: 'submit', class: 'button button-primary' }, icon('search', { size: 16 }), 'Search');
  const history = section({ title: 'Past calls' });
  const historyForm = el('form', { class: 'admin-history-form', role: 'search', 'aria-label': 'Search past calls' },
    labelled('Room', room), labelled('Person', user), labelled('From', from), labelled('To', to), go);
  const historyList = el('div', { class: 'admin-history' });
  const more = el('button', { type: 'button', class: 'button button-secondary admin-more', hidden: true }, 'Show more');
  history.body.append(historyForm, historyList, more);

  const node = el('div', { class: 'admin-page-inner' }, head.node, active.node, history.node);

  let calls = [];
  let pollTimer = null;
  let tickTimer = null;
  let destroyed = false;
  const lastBytes = new Map(); // track key → {bytes, at}: bitrates for servers that send only counters
  let drawnKey = '';

  async function loadActive() {
    clearTimeout(pollTimer);
    try {
      const list = await admin.activeCalls();
      if (destroyed) return;
      calls = list.map(normalizeCall);
      await ctx.ensureUsers?.(calls.flatMap((c) => [c.host_id, ...c.participants.map((p) => p.user_id)]).filter(Boolean));
      if (destroyed) return;
      drawActive();
    } catch (err) {
      if (destroyed) return;
      if (err.status === 403) {
        ctx.onForbidden();
        return;
      }
      activeList.replaceChildren(errorBox(`Could not load the calls: ${err.message}`));
    }
    if (!destroyed) pollTimer = setTimeout(loadActive, POLL_MS);
  }

  /** normalizeCall accepts both shapes the server has sent (per-call tracks, or tracks per participant). */
  function normalizeCall(c) {
    const now = performance.now();
    const tracks = c.tracks || [];
    const participants = (c.participants || []).map((p) => {
      const own = p.tracks || tracks.filter((t) => t.participant_id && t.participant_id === p.id);
      return {
        ...p,
        tracks: own.map((t) => {
          const key = `${c.channel_id}:${p.id || p.user_id}:${t.source || ''}:${t.kind}`;
          let bps = t.bitrate_bps;
          if (!Number.isFinite(bps) && Number.isFinite(t.bytes)) {
            const last = lastBytes.get(key);
            if (last && now > last.at && t.bytes >= last.bytes) bps = ((t.bytes - last.bytes) * 8 * 1000) / (now - last.at);
            lastBytes.set(key, { bytes: t.bytes, at: now });
          }
          let loss = t.loss_pct;
          if (!Number.isFinite(loss) && Number.isFinite(t.packets)) {
            const total = (t.packets || 0) + (t.lost || 0);
            loss = total ? ((t.lost || 0) * 100) / total : 0;
          }
          return { ...t, bps, loss };
        }),
      };
    });
    const r = c.recording;
    const recording = r && (r.on || (r.on === undefined && r.started_at)) ? { startedAt: r.started_at, by: r.started_by || r.by || '' } : null;
    return { ...c, participants, recording };
  }

  function roomName(c) {
    const known = ctx.state.channel(c.channel_id);
    if (known) return ctx.state.roomName(known);
    return c.channel_name || `Room ${c.channel_id}`;
  }

  function userName(id, fallback) {
    if (fallback) return fallback;
    return id ? ctx.state.userName(id) : '';
  }

  function drawActive() {
    // Keep focus on a button across redraws: redraw only what changed.
    const key = JSON.stringify(calls.map((c) => [c.channel_id, c.host_id, c.recording, c.participants.map((p) => [p.user_id, p.tracks.map((t) => [t.kind, t.source, Math.round(t.bps / 1000), Math.round(t.loss * 10)])])]));
    if (key === drawnKey && activeList.firstChild) return;
    drawnKey = key;
    const focusedAction = document.activeElement?.closest?.('.admin-call [data-action]');
    const refocus = focusedAction ? [focusedAction.closest('.admin-call').dataset.channelId, focusedAction.dataset.action] : null;
    if (!calls.length) {
      activeList.replaceChildren(el('p', { class: 'admin-empty' }, 'No calls right now.'));
      return;
    }
    activeList.replaceChildren(...calls.map(callCard));
    if (refocus) activeList.querySelector(`.admin-call[data-channel-id="${CSS.escape(refocus[0])}"] [data-action="${refocus[1]}"]`)?.focus();
    tick();
  }

  function callCard(c) {
    const name = roomName(c);
    const end = el('button', { type: 'button', class: 'button button-small button-danger', dataset: { action: 'end' } }, icon('phoneOff', { size: 14 }), 'End call');
    end.addEventListener('click', () => endCall(c, name, end));
    const stop = c.recording
      ? el('button', { type: 'button', class: 'button button-small button-secondary', dataset: { action: 'stop' } }, icon('stop', { size: 14 }), 'Stop recording')
      : null;
    stop?.addEventListener('click', () => stopRecording(c, name, stop));
    const started = c.started_at ? el('span', { class: 'admin-call-duration', dataset: { since: c.started_at }, title: `Started ${dateTime(c.started_at)}` }, clock(since(c.started_at))) : null;
    return el('article', { class: 'admin-call', dataset: { channelId: c.channel_id }, 'aria-label': `Call in ${name}` },
      el('header', { class: 'admin-call-head' },
        el('div', { class: 'admin-call-title' },
          el('span', { class: 'admin-call-live', 'aria-hidden': 'true' }),
          el('strong', null, name),
          c.title ? el('span', { class: 'admin-muted' }, ` · ${c.title}`) : null),
        started),
      el('dl', { class: 'admin-facts' },
        fact('Host', userName(c.host_id, c.host_username)),
        fact('People', String(c.participants.length)),
        fact('Recording', c.recording
          ? el('span', { class: 'admin-pill is-rec' }, icon('record', { size: 12 }), `Recording${c.recording.by ? ` · by ${userName(c.recording.by)}` : ''}`)
          : 'Not recording')),
      dataTable({
        caption: `People in the call in ${name}`,
        columns: [{ label: 'Person' }, { label: 'Joined' }, { label: 'Audio' }, { label: 'Video' }, { label: 'Packet loss' }],
        rows: c.participants.map((p) => {
          const audio = p.tracks.filter((t) => t.kind === 'audio');
          const video = p.tracks.filter((t) => t.kind === 'video');
          const sum = (ts) => (ts.length && ts.some((t) => Number.isFinite(t.bps)) ? ts.reduce((n, t) => n + (t.bps || 0), 0) : NaN);
          const worst = p.tracks.length ? Math.max(...p.tracks.map((t) => (Number.isFinite(t.loss) ? t.loss : 0))) : NaN;
          return {
            attrs: { dataset: { userId: p.user_id } },
            cells: [
              userName(p.user_id, p.username),
              p.joined_at ? el('span', { title: dateTime(p.joined_at) }, shortWhen(p.joined_at)) : '',
              audio.length ? bitrate(sum(audio)) : 'No audio',
              video.length ? bitrate(sum(video)) : 'No video',
              el('span', { class: worst >= 5 ? 'admin-bad' : null }, percent(worst)),
            ],
          };
        }),
        empty: 'Nobody is connected.',
      }),
      el('div', { class: 'admin-call-actions' }, stop, end));
  }

  function tick() {
    for (const t of activeList.querySelectorAll('.admin-call-duration')) t.textContent = clock(since(t.dataset.since));
  }

  async function endCall(c, name, button) {
    const ok = await confirmDialog({
      title: 'End this call?',
      text: `The call in ${name} ends for all ${c.participants.length === 1 ? 'one person' : `${c.participants.length} people`} in it.`,
      confirmLabel: 'End call',
      danger: true,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      await admin.endCall(c.channel_id);
      status.set(`The call in ${name} has ended`, { kind: 'ok', clearAfter: 6000 });
      await loadActive();
    } catch (err) {
      button.disabled = false;
      status.set(missingRoute(err) ? 'This server cannot end calls from the console yet' : `Could not end the call: ${err.message}`, { kind: 'error' });
    }
  }

  async function stopRecording(c, name, button) {
    const ok = await confirmDialog({
      title: 'Stop the recording?',
      text: `The recording of the call in ${name} stops; the file is posted in the call's thread as usual. The call goes on.`,
      confirmLabel: 'Stop recording',
      danger: true,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      await admin.stopRecording(c.channel_id);
      status.set(`Recording in ${name} stopped`, { kind: 'ok', clearAfter: 6000 });
      await loadActive();
    } catch (err) {
      button.disabled = false;
      status.set(missingRoute(err) ? 'This server cannot stop recordings from the console yet' : `Could not stop the recording: ${err.message}`, { kind: 'error' });
    }
  }

  // ---------- Past calls ----------
  let historyRows = [];
  let historyOffset = 0;

  async function loadHistory({ append = false } = {}) {
    const offset = append ? historyOffset : 0;
    const params = {
      room: room.value.trim(),
      user: user.value.trim(),
      from: from.value ? new Date(`${from.value}T00:00:00`).toISOString() : '',
      to: to.value ? new Date(`${to.value}T23:59:59.999`).toISOString() : '',
      limit: HISTORY_LIMIT,
      offset,
    };
    go.disabled = true;
    more.disabled = true;
    if (!append) historyList.replaceChildren(loading('Searching…'));
    try {
      const res = await admin.callHistory(params);
      historyRows = append ? [...historyRows, ...res.calls] : res.calls;
      historyOffset = historyRows.length;
      drawHistory(res.total);
    } catch (err) {
      more.hidden = true;
      historyList.replaceChildren(missingRoute(err)
        ? el('p', { class: 'admin-empty' }, 'This server does not keep a searchable call history yet.')
        : errorBox(`Could not search the calls: ${err.message}`));
    } finally {
      go.disabled = false;
      more.disabled = false;
    }
  }

  function drawHistory(total) {
    historyList.replaceChildren(
      el('p', { class: 'admin-count', role: 'status' }, total === 1 ? '1 call' : `${total} calls`),
      dataTable({
        caption: 'Past calls',
        columns: [{ label: 'Room' }, { label: 'Title' }, { label: 'Host' }, { label: 'Started' }, { label: 'Length' }, { label: 'People' }],
        rows: historyRows.map((c) => ({
          attrs: { dataset: { callId: c.call_id || c.id } },
          cells: [
            c.channel_name || roomName(c),
            c.title || el('span', { class: 'admin-muted' }, '–'),
            c.host_username || userName(c.host_id),
            dateTime(c.started_at),
            Number.isFinite(c.duration_s) ? clock(c.duration_s) : '',
            (c.attendees || []).map((a) => (typeof a === 'string' ? userName(a) : a.username || userName(a.user_id))).join(', '),
          ],
        })),
        empty: room.value || user.value || from.value || to.value ? 'No calls match.' : 'No calls have ended yet.',
      }));
    more.hidden = historyRows.length >= total;
  }

  historyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    loadHistory();
  });
  more.addEventListener('click', () => loadHistory({ append: true }));

  tickTimer = setInterval(tick, 1000);

  return {
    node,
    load: () => Promise.all([loadActive(), loadHistory()]),
    refresh: () => loadActive(),
    destroy() {
      destroyed = true;
      clearTimeout(pollTimer);
      clearInterval(tickTimer);
    },
  };
}

function fact(label, value) {
  return el('div', { class: 'admin-fact' }, el('dt', null, label), el('dd', null, value));
}
