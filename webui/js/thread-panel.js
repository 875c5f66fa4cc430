// thread-panel.js is a thread in the right panel: the root post, its
// replies oldest first, and a composer that replies with root_id.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { composer } from './composer.js';
import { messageList } from './message-list.js';
import { panelFrame } from './panel-frame.js';

/** threadPanel returns {node, rootId, channelId, load(), focus(), destroy(), list}. */
export function threadPanel({ chat, rootId, channel, onClose }) {
  const { state } = chat;
  const roomName = state.roomName(channel);
  const member = state.channels.has(channel.id);
  const canPost = () => member && !channel.archived_at;

  const frame = panelFrame({ title: 'Thread', subtitle: roomName, onClose, className: 'panel-thread' });
  const list = messageList({
    state,
    mode: 'thread',
    label: 'Thread messages',
    ctx: {
      get canPost() { return canPost(); },
      onReact: (post, emoji) => chat.react(post, emoji),
      onPickReaction: (post, anchor) => chat.pickReaction(post, anchor),
      onOpenThread: () => {},
      onEdit: (post) => list.edit(post.id),
      onDelete: (post) => chat.confirmDelete(post),
      archived: Boolean(channel.archived_at),
    },
    onSaveEdit: (post, message) => chat.saveEdit(post, message),
  });
  const status = el('div', { class: 'list-loading', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading thread…');
  const box = canPost() ? composer({
    channelId: channel.id,
    label: 'Reply to thread',
    placeholder: 'Reply…',
    onSend: (message, fileIds) => chat.sendPost(channel.id, { message, file_ids: fileIds, root_id: rootId }),
    onCommand: (text) => chat.runCommand(channel.id, text, { rootId, onEphemeral: (t) => list.addEphemeral(t) }),
    onTyping: () => chat.typing.typed(channel.id, rootId),
    onEditLast: () => list.editLast(),
  }) : null;
  const foot = box ? box.node : el('div', { class: 'read-only-banner read-only-small', role: 'status' },
    icon('archive', { size: 16 }), el('span', null, channel.archived_at ? 'This room is archived.' : 'Join the room to reply.'));
  frame.body.append(status, list.node, el('div', { class: 'panel-footer' }, foot));
  list.node.hidden = true;

  const offTyping = chat.typing.on(() => box?.setTyping(chat.typing.text(channel.id, rootId)));

  async function load() {
    try {
      const res = await api.thread(rootId);
      const all = [res.root, ...(res.posts || [])];
      await chat.ensureUsers(all.map((p) => p.user_id));
      for (const p of all) chat.seen.add(p.id);
      list.setThread(res.root, res.posts || []);
      status.remove();
      list.node.hidden = false;
    } catch (err) {
      status.replaceChildren(icon('alert', { size: 16 }), err.status === 404 ? 'This thread no longer exists.' : `Could not load the thread: ${err.message}`);
      status.classList.add('list-error');
    }
  }

  return {
    node: frame.node,
    kind: 'thread',
    rootId,
    channelId: channel.id,
    list,
    load,
    focus: () => (box ? box.focus() : frame.focus()),
    destroy() {
      box?.destroy();
      list.destroy();
      offTyping();
    },
  };
}
