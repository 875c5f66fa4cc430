// incoming-call.js is the ring of a DM call on the callee's side: a popup
// wherever they are in the app, the ringer, and the DM highlighted in the
// sidebar until the ring ends (accepted, declined or missed on any device,
// cancelled by the caller) or is dismissed on this device.
//
// Accept joins the call; Decline stops the ring on every device, optionally
// with a reply posted in the DM; Dismiss only silences this device.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';
import { Ringer } from './ringer.js';

const REPLIES = ["Can't talk now, I'll call you back.", 'On my way.', 'In a meeting. Text me?'];

/** incomingCalls returns {ring(event), update(event), sync(events), clearStale(), destroy()}. */
export function incomingCalls({ calls, state }) {
  const rings = new Map(); // call id → {event, node, timer}
  const ended = new Set(); // rings over or dismissed here: a later hello must not restart them
  const ringer = new Ringer('incoming');
  const stack = el('div', { class: 'ring-stack', 'aria-live': 'assertive' });
  document.body.append(stack);

  function ring(ev) {
    if (!ev?.call_id || ev.callee_id !== state.me.id || ev.state !== 'calling') return;
    if (rings.has(ev.call_id) || ended.has(ev.call_id)) return;
    const entry = { event: ev, node: null, timer: null };
    rings.set(ev.call_id, entry);
    entry.node = popup(ev);
    stack.append(entry.node);
    state.setRinging?.(ev.channel_id, true);
    // The server ends the ring on its clock; this is only a safety net for
    // a lost event.
    const left = ev.remaining_ms > 0 ? ev.remaining_ms : Date.parse(ev.expires_at) - Date.now();
    const ms = Math.max(5000, left + 5000) || (ev.timeout_s + 5) * 1000;
    entry.timer = setTimeout(() => remove(ev.call_id), Math.min(ms, 15 * 60 * 1000));
    ringer.start();
    requestAnimationFrame(() => entry.node.querySelector('.ring-accept')?.focus({ preventScroll: true }));
  }

  function remove(callId) {
    const entry = rings.get(callId);
    if (!entry) return;
    rings.delete(callId);
    clearTimeout(entry.timer);
    entry.node.remove();
    if (![...rings.values()].some((r) => r.event.channel_id === entry.event.channel_id)) {
      state.setRinging?.(entry.event.channel_id, false);
    }
    if (!rings.size) ringer.stop();
  }

  function update(ev) {
    if (ev.state === 'calling') return;
    ended.add(ev.call_id);
    remove(ev.call_id);
  }

  function popup(ev) {
    const caller = state.user(ev.caller_id);
    const titleId = uid('ring-title');
    const name = displayName(caller);
    const accept = el('button', { type: 'button', class: 'ring-button ring-accept', title: 'Accept and join the call' },
      icon('phone', { size: 18 }), el('span', null, 'Accept'));
    const decline = el('button', { type: 'button', class: 'ring-button ring-decline', title: 'Decline: stops the ringing on all your devices' },
      icon('phoneOff', { size: 18 }), el('span', null, 'Decline'));
    const replyToggle = el('button', {
      type: 'button', class: 'ring-button ring-reply-toggle', 'aria-label': 'Decline with a message', title: 'Decline with a message', 'aria-expanded': 'false',
    }, icon('message', { size: 18 }));
    const dismiss = el('button', {
      type: 'button', class: 'icon-button ring-dismiss', 'aria-label': 'Dismiss', title: 'Dismiss: silence it on this device only',
    }, icon('close', { size: 18 }));

    const custom = el('input', {
      class: 'input ring-custom', type: 'text', maxlength: 500, placeholder: 'Write a reply…', 'aria-label': 'Your reply',
    });
    const sendCustom = el('button', { type: 'submit', class: 'button button-primary button-small' }, 'Send');
    const replies = el('div', { class: 'ring-replies', hidden: true },
      el('p', { class: 'ring-replies-title' }, 'Decline with a message'),
      ...REPLIES.map((text) => el('button', {
        type: 'button', class: 'ring-reply', onclick: () => declineWith(text),
      }, text)),
      el('form', { class: 'ring-custom-form' }, custom, sendCustom));
    replies.querySelector('form').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = custom.value.trim();
      if (text) declineWith(text);
    });

    const node = el('section', {
      class: 'ring-popup',
      role: 'alertdialog',
      'aria-labelledby': titleId,
      dataset: { callId: ev.call_id, channelId: ev.channel_id },
    },
    el('div', { class: 'ring-head' },
      el('span', { class: 'ring-avatar' }, avatar(caller, { size: 'lg' })),
      el('div', { class: 'ring-text' },
        el('h2', { id: titleId, class: 'ring-title' }, name),
        el('p', { class: 'ring-sub' }, icon('phoneIncoming', { size: 14 }), 'Incoming call')),
      dismiss),
    el('div', { class: 'ring-actions' }, decline, replyToggle, accept),
    replies);

    node.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        doDismiss();
      }
    });
    accept.addEventListener('click', () => {
      remove(ev.call_id);
      calls.acceptRing(ev);
    });
    decline.addEventListener('click', () => declineWith(''));
    replyToggle.addEventListener('click', () => {
      replies.hidden = !replies.hidden;
      replyToggle.setAttribute('aria-expanded', String(!replies.hidden));
      if (!replies.hidden) replies.querySelector('.ring-reply')?.focus();
    });
    dismiss.addEventListener('click', doDismiss);

    function declineWith(reply) {
      calls.socket.send('call_ring_decline', reply ? { call_id: ev.call_id, reply } : { call_id: ev.call_id });
      remove(ev.call_id);
    }
    function doDismiss() {
      ended.add(ev.call_id);
      calls.socket.send('call_ring_dismiss', { call_id: ev.call_id });
      remove(ev.call_id);
    }
    return node;
  }

  return {
    ring,
    update,
    /**
     * sync takes the rings a websocket hello lists (those still calling
     * this user): a device that connects mid-ring rings too, and a ring
     * that ended while the connection was down stops.
     */
    sync(list) {
      const live = new Set(list.map((ev) => ev.call_id));
      for (const id of [...rings.keys()]) if (!live.has(id)) remove(id);
      for (const ev of list) ring(ev);
    },
    /** clearStale drops rings the server no longer knows (an answer of no_ring). */
    clearStale() {
      for (const [id, entry] of rings) {
        if (Date.parse(entry.event.expires_at) < Date.now()) remove(id);
      }
    },
    has: (callId) => rings.has(callId),
    destroy() {
      for (const id of [...rings.keys()]) remove(id);
      ringer.stop();
      stack.remove();
    },
  };
}
