// call-popout.js is the call in its own window (/call/<room id>?popout=1):
// the call view fills the window while the main window keeps the chat.
// This window joins with its own websocket; once it is in, the main window
// steps out of the call (call-controller.js, over a BroadcastChannel).
// Closing the window closes its websocket, which leaves the call.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { ChatState } from './state.js';
import { Calls } from './call-controller.js';

/** callPopoutView returns the view app.js mounts: {node, start(), destroy()}. */
export function callPopoutView({ user, socket, siteName, channelId, mic, camera }) {
  const state = new ChatState(user);
  let channel = null;
  const layer = el('div', { class: 'popout-layer' });
  const toastText = el('span', { class: 'banner-text' });
  const toast = el('div', { class: 'banner banner-info popout-toast', role: 'status', hidden: true }, toastText);
  const ended = el('section', { class: 'popout-ended', hidden: true });
  const node = el('div', { class: 'popout' }, layer, toast, ended);
  let toastTimer = null;

  const say = (text, danger = false) => {
    toastText.textContent = text;
    toast.classList.toggle('banner-danger', danger);
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 7000);
  };
  const roomName = () => (channel ? state.roomName(channel) : 'the room');

  const calls = new Calls({
    socket,
    state,
    ui: {
      popout: true,
      showError: (text) => say(text, true),
      showNotice: (text) => say(text),
      openRoom: () => {},
      openThread: () => {},
      mountView: (view) => layer.replaceChildren(...(view ? [view] : [])),
      mountWidget: () => {},
      channel: (id) => (channel?.id === id ? channel : null),
      roomName,
      ended: (text) => showEnded(text),
    },
  });

  function showEnded(text) {
    document.title = `Call ended · ${siteName}`;
    const close = el('button', { type: 'button', class: 'button button-secondary', onclick: () => window.close() }, 'Close window');
    const again = el('button', { type: 'button', class: 'button button-call' }, icon('phone', { size: 16 }), 'Rejoin');
    again.addEventListener('click', () => {
      ended.hidden = true;
      const defaults = state.callDefaults();
      calls.start(channelId, { preflight: false, mic: true, muted: !defaults.mic, camera: defaults.camera });
    });
    ended.replaceChildren(
      el('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('phoneOff', { size: 36 })),
      el('h1', { class: 'empty-title' }, 'You are out of the call'),
      el('p', { class: 'empty-text' }, text),
      el('div', { class: 'popout-ended-actions' }, close, again));
    ended.hidden = false;
    close.focus();
  }

  let started = false;
  const offHello = socket.on('hello', () => {
    if (started) return;
    started = true;
    // The microphone opens either way, muted when it was muted in the main
    // window, so unmuting later needs no new permission prompt.
    calls.start(channelId, { preflight: false, mic: true, muted: !mic, camera });
  });

  async function start() {
    // The workspace's defaults for a rejoin from this window.
    api.get('/settings').then((s) => state.setSettings(s), () => {});
    try {
      const [c, users] = await Promise.all([api.channel(channelId), api.users()]);
      channel = c;
      state.addUsers(users);
      if (c.type === 'dm' || c.type === 'group') {
        const members = await api.channelMembers(channelId);
        state.addUsers(members);
        channel = { ...c, member_ids: members.map((m) => m.id) };
      }
      document.title = `Call · ${roomName()} · ${siteName}`;
      calls.changed();
    } catch (err) {
      showEnded(err.status === 404
        ? 'This call link belongs to a room you are not a member of, or that no longer exists.'
        : `Could not open the call: ${err.message}`);
    }
  }

  return {
    node,
    start,
    setConnection: () => {},
    destroy() {
      offHello();
      calls.destroy();
    },
  };
}
