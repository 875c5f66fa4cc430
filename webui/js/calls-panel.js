// calls-panel.js is a room's call history in the right panel: its past
// calls, newest first (GET /channels/{id}/calls), each with its name, who
// started it and when, how long it lasted, who attended and its
// recordings. "Load more" pages back; a call that ends while the panel is
// open appears at the top.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import * as fmt from './format.js';
import { duration } from './call-card.js';
import { panelFrame } from './panel-frame.js';

const PAGE = 20;

/** callsPanel returns {node, kind, channelId, load(), focus(), destroy()}. */
export function callsPanel({ chat, channel, onClose }) {
  const { state } = chat;
  const frame = panelFrame({ title: 'Calls', subtitle: state.roomName(channel), onClose, className: 'panel-calls' });
  const status = el('p', { class: 'panel-status', role: 'status' }, 'Loading calls…');
  const list = el('ul', { class: 'call-history', role: 'list', 'aria-label': 'Past calls' });
  const more = el('button', { type: 'button', class: 'button button-secondary button-block', hidden: true }, 'Load more');
  frame.body.append(el('div', { class: 'panel-section' }, status, list, more));
  let calls = [];
  let hasMore = false;
  let token = 0; // a newer load wins over one still in flight

  async function fetchPage(before) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (before) q.set('before', before);
    const page = await api.get(`/channels/${encodeURIComponent(channel.id)}/calls?${q}`);
    const got = page.calls || [];
    await chat.ensureUsers(got.flatMap((c) => [c.host_id, ...(c.attendees || [])]));
    return { got, hasMore: Boolean(page.has_more) };
  }

  async function load() {
    const mine = ++token;
    try {
      const page = await fetchPage('');
      if (mine !== token) return;
      calls = page.got;
      hasMore = page.hasMore;
      render();
    } catch (err) {
      if (mine === token) status.textContent = `Could not load the calls: ${err.message}`;
    }
  }

  async function loadMore() {
    const last = calls[calls.length - 1];
    if (!last) return;
    const mine = token;
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const page = await fetchPage(last.id);
      if (mine !== token) return;
      const seen = new Set(calls.map((c) => c.id));
      calls = calls.concat(page.got.filter((c) => !seen.has(c.id)));
      hasMore = page.hasMore;
      render();
    } catch (err) {
      status.textContent = `Could not load more calls: ${err.message}`;
    } finally {
      more.disabled = false;
      more.textContent = 'Load more';
    }
  }
  more.addEventListener('click', loadMore);

  function render() {
    status.textContent = calls.length
      ? `${calls.length}${hasMore ? '+' : ''} past ${calls.length === 1 && !hasMore ? 'call' : 'calls'}`
      : 'No calls here yet. Past calls are listed once they end.';
    list.replaceChildren(...calls.map(callItem));
    more.hidden = !hasMore;
  }

  function callItem(c) {
    const host = state.user(c.host_id);
    const people = (c.attendees || []).map((id) => state.user(id));
    const started = el('time', { datetime: c.started_at, title: fmt.fullTime(c.started_at) },
      `${fmt.shortWhen(c.started_at)}${fmt.dayKey(c.started_at) === fmt.dayKey(new Date()) ? '' : `, ${fmt.time(c.started_at)}`}`);
    const recordings = (c.recordings || []).filter((r) => r.file_id);
    return el('li', { class: 'call-history-item', dataset: { callId: c.id } },
      el('div', { class: 'call-history-head' },
        el('span', { class: 'call-history-icon', 'aria-hidden': 'true' }, icon('phone', { size: 16 })),
        el('span', { class: 'call-history-title' }, c.title || 'Call'),
        el('span', { class: 'call-history-duration' }, duration(c.duration_s))),
      el('p', { class: 'call-history-meta' }, 'Started by ', el('strong', null, displayName(host)), ' · ', started),
      el('div', { class: 'call-history-people' },
        el('span', { class: 'avatar-stack', 'aria-hidden': 'true' },
          people.slice(0, 8).map((u) => el('span', { dataset: { userId: u.id } }, avatar(u, { size: 'sm' })))),
        el('span', { class: 'call-history-names' }, fmt.names(people.map(displayName), { max: 6 }) || 'Nobody')),
      recordings.length ? el('ul', { class: 'call-history-recordings', role: 'list' }, recordings.map((r, i) => el('li', null,
        el('a', { href: api.fileURL(r.file_id), target: '_blank', rel: 'noopener' }, icon('record', { size: 14 }),
          `Recording${recordings.length > 1 ? ` ${i + 1}` : ''} (${duration(r.duration_ms / 1000)})`)))) : null);
  }

  // A call of this room that ends now belongs at the top.
  const offEnded = chat.socket.on('call_ended', (d) => { if (d?.channel_id === channel.id) load(); });

  return {
    node: frame.node,
    kind: 'calls',
    channelId: channel.id,
    load,
    focus: () => frame.focus(),
    destroy: () => { token += 1; offEnded(); },
  };
}
