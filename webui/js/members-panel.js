// members-panel.js lists the people of a room in the right panel, online
// first, with presence dots, and offers "Add people" in private rooms and a
// Remove button per person to whoever may manage the room.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { displayName, presenceAvatar } from './avatar.js';
import { panelFrame } from './panel-frame.js';

const ORDER = { online: 0, away: 1, offline: 2 };

/** membersPanel returns {node, channelId, load(), focus(), destroy()}. */
export function membersPanel({ chat, channel, onClose }) {
  const { state } = chat;
  const frame = panelFrame({ title: 'Members', subtitle: state.roomName(channel), onClose, className: 'panel-members' });
  const list = el('ul', { class: 'member-list', role: 'list' });
  const status = el('p', { class: 'panel-status', role: 'status' }, 'Loading members…');
  const canAdd = channel.type === 'private' && state.channels.has(channel.id) && !channel.archived_at;
  const add = canAdd ? el('button', { type: 'button', class: 'button button-secondary button-block', onclick: () => chat.addPeople(channel) },
    icon('userPlus', { size: 16 }), 'Add people') : null;
  frame.body.append(el('div', { class: 'panel-section' }, add, status, list));
  let members = [];

  function render() {
    const sorted = [...members].sort((a, b) => (ORDER[state.presence(a.id)] - ORDER[state.presence(b.id)])
      || displayName(a).localeCompare(displayName(b)));
    status.textContent = `${sorted.length} ${sorted.length === 1 ? 'member' : 'members'}`;
    const canRemove = state.canManage(channel);
    list.replaceChildren(...sorted.map((u) => {
      const status = state.presence(u.id);
      const remove = canRemove && u.id !== state.me.id ? el('button', {
        type: 'button',
        class: 'button button-secondary button-small member-remove',
        'aria-label': `Remove ${displayName(u)}`,
        title: `Remove ${displayName(u)} from ${state.roomName(channel)}`,
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          if (!await chat.removeMember(channel, u)) button.disabled = false;
        },
      }, icon('userMinus', { size: 14 }), 'Remove') : null;
      return el('li', { class: 'member' },
        presenceAvatar(u, status),
        el('span', { class: 'member-names' },
          el('span', { class: 'member-name' }, displayName(u), u.id === state.me.id ? el('span', { class: 'member-you' }, ' (you)') : null),
          el('span', { class: 'member-handle' }, `@${u.username}`, u.role === 'guest' ? ' · guest' : '', u.is_bot ? ' · bot' : '')),
        el('span', { class: 'visually-hidden' }, `, ${status}`),
        remove);
    }));
  }

  async function load() {
    try {
      members = await api.channelMembers(channel.id);
      state.addUsers(members);
      if (chat.roomView?.channelId === channel.id) chat.roomView.setMemberCount(members.length);
      render();
    } catch (err) {
      status.textContent = `Could not load members: ${err.message}`;
    }
  }

  const offPresence = state.on('presence', render);

  return {
    node: frame.node,
    kind: 'members',
    channelId: channel.id,
    load,
    focus: () => frame.focus(),
    destroy: offPresence,
  };
}
