// search-panel.js shows message search results in the right panel; a
// result opens its room (and its thread, for a reply) at that post.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import * as fmt from './format.js';
import { fillBody } from './post.js';
import { panelFrame } from './panel-frame.js';

/** searchPanel returns {node, load(), focus(), destroy()} for one query. */
export function searchPanel({ chat, query, onClose }) {
  const { state } = chat;
  const frame = panelFrame({ title: 'Search results', subtitle: `“${query}”`, onClose, className: 'panel-search' });
  const status = el('p', { class: 'panel-status', role: 'status' }, 'Searching…');
  const list = el('ul', { class: 'result-list', role: 'list' });
  frame.body.append(el('div', { class: 'panel-section' }, status, list));

  async function load() {
    let posts;
    try {
      posts = await api.search(query);
    } catch (err) {
      status.textContent = `Search failed: ${err.message}`;
      return;
    }
    await chat.ensureUsers(posts.map((p) => p.user_id));
    status.textContent = posts.length
      ? `${posts.length} ${posts.length === 1 ? 'result' : 'results'}`
      : 'No messages match. Try other words.';
    list.replaceChildren(...posts.map((p) => {
      const author = state.user(p.user_id);
      const room = state.channel(p.channel_id);
      const body = el('div', { class: 'post-body result-body' });
      fillBody(body, p, state);
      // The whole result is one button, which may not hold links.
      for (const a of body.querySelectorAll('a')) a.replaceWith(el('span', { class: 'result-link' }, a.textContent));
      const open = el('button', {
        type: 'button',
        class: 'result',
        onclick: () => chat.openRoom(p.channel_id, { highlight: p.root_id ? null : p.id, thread: p.root_id || null }),
      },
      el('span', { class: 'result-room' },
        icon(room?.type === 'private' ? 'lock' : room && room.type !== 'public' ? 'message' : 'hash', { size: 12 }),
        room ? state.roomName(room) : 'Room', p.root_id ? ' · reply' : ''),
      el('span', { class: 'result-head' },
        avatar(author, { size: 'sm' }),
        el('span', { class: 'post-author' }, displayName(author)),
        el('time', { class: 'post-time', datetime: p.created_at, title: fmt.fullTime(p.created_at) }, fmt.shortWhen(p.created_at))),
      body);
      return el('li', null, open);
    }));
  }

  return {
    node: frame.node,
    kind: 'search',
    load,
    focus: () => frame.focus(),
    destroy() {},
  };
}
