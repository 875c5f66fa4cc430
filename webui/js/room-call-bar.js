// room-call-bar.js is a room's call entry points: the call button of the
// room header (start, join, or show the call you are in) and the bar under
// the header that says a call is going on here, that your DM call is
// ringing ("Calling…"), or how it ended when nobody took it ("No answer",
// "Declined") with a Call again button.
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar } from './avatar.js';
import { elapsed } from './call-card.js';
import * as fmt from './format.js';

/** callButton returns {node, update(channel), destroy()} for the room header. */
export function callButton({ calls, channel }) {
  let c = channel;
  const label = el('span', { class: 'header-call-label' });
  const node = el('button', { type: 'button', class: 'header-button header-call' }, icon('phone', { size: 16 }), label);

  function draw() {
    const direct = c.type === 'dm';
    const running = calls.running(c.id);
    node.disabled = false;
    node.classList.remove('is-live', 'is-in');
    if (c.archived_at) {
      label.textContent = 'Call';
      node.disabled = true;
      node.setAttribute('aria-label', 'Start a call');
      node.title = 'This room is archived, so it takes no calls';
    } else if (calls.inCall(c.id)) {
      label.textContent = 'In call';
      node.classList.add('is-in');
      node.setAttribute('aria-label', 'Show the call');
      node.title = 'You are in this room’s call: show it';
    } else if (running) {
      const n = running.participants.length;
      label.textContent = n ? `Join call · ${n}` : 'Join call';
      node.classList.add('is-live');
      node.setAttribute('aria-label', 'Join the call');
      node.title = `A call is going on here${n ? ` with ${fmt.plural(n, 'person', 'people')}` : ''}: join it`;
    } else {
      label.textContent = direct ? 'Call' : 'Start call';
      node.setAttribute('aria-label', 'Start a call');
      node.title = direct ? 'Call (rings them on all their devices)' : 'Start a call in this room';
    }
  }

  node.addEventListener('click', () => calls.start(c.id));
  const offs = [calls.on('rooms', (id) => { if (!id || id === c.id) draw(); }), calls.on('change', draw)];
  draw();
  return {
    node,
    update(next) {
      c = next;
      draw();
    },
    destroy: () => offs.forEach((off) => off()),
  };
}

/** roomCallBar returns {node, destroy()} shown above a room's messages. */
export function roomCallBar({ calls, state, channelId }) {
  const node = el('div', { class: 'room-call-bar', role: 'status', hidden: true });
  let timer = null;
  let shown = '';

  function draw() {
    const s = calls.session;
    const outcome = calls.outcome(channelId);
    const running = calls.running(channelId);
    // Redraw only when what the bar says changes (not on every "who is
    // speaking"), so a focused button keeps its focus.
    const key = JSON.stringify([
      s && !s.ended && s.channelId === channelId && s.ring ? s.ring.callee_id : null,
      outcome && !calls.inCall(channelId) ? [outcome.state, outcome.calleeId] : null,
      running && !calls.inCall(channelId) ? [running.id, running.started_at, running.participants.map((p) => p.user_id)] : null,
      state.users.size,
    ]);
    if (key === shown) return;
    shown = key;
    clearInterval(timer);
    timer = null;
    node.className = 'room-call-bar';

    if (s && !s.ended && s.channelId === channelId && s.ring) {
      const callee = state.user(s.ring.callee_id);
      node.classList.add('is-calling');
      const cancel = el('button', { type: 'button', class: 'button button-secondary button-small' }, 'Cancel');
      cancel.addEventListener('click', () => calls.leave());
      node.replaceChildren(
        el('span', { class: 'room-call-avatar is-ringing' }, avatar(callee, { size: 'sm' })),
        el('span', { class: 'room-call-text' }, el('strong', null, `Calling ${state.userName(callee.id)}…`), ' You can keep using the app meanwhile.'),
        cancel);
      node.hidden = false;
      return;
    }
    if (outcome && !calls.inCall(channelId)) {
      const who = state.userName(outcome.calleeId);
      node.classList.add(outcome.state === 'missed' ? 'is-missed' : 'is-declined');
      const again = el('button', { type: 'button', class: 'button button-call button-small room-call-again' }, icon('phone', { size: 14 }), 'Call again');
      again.addEventListener('click', () => calls.start(channelId));
      const close = el('button', { type: 'button', class: 'icon-button room-call-close', 'aria-label': 'Dismiss', title: 'Dismiss' }, icon('close', { size: 16 }));
      close.addEventListener('click', () => calls.clearOutcome(channelId));
      node.replaceChildren(
        el('span', { class: 'room-call-icon' }, icon('phoneMissed', { size: 18 })),
        el('span', { class: 'room-call-text' },
          el('strong', null, outcome.state === 'missed' ? 'No answer' : 'Declined'),
          outcome.state === 'missed' ? ` ${who} did not pick up.` : ` ${who} declined the call.`),
        again, close);
      node.hidden = false;
      return;
    }
    if (running && !calls.inCall(channelId)) {
      const n = running.participants.length;
      const time = el('span', { class: 'room-call-time' }, running.started_at ? elapsed(running.started_at) : '');
      if (running.started_at) timer = setInterval(() => { time.textContent = elapsed(running.started_at); }, 1000);
      const join = el('button', { type: 'button', class: 'button button-call button-small' }, icon('phone', { size: 14 }), 'Join');
      join.addEventListener('click', () => calls.start(channelId));
      node.classList.add('is-live');
      node.replaceChildren(
        el('span', { class: 'room-call-icon' }, icon('phone', { size: 18 })),
        el('span', { class: 'room-call-text' }, el('strong', null, 'Call in progress'), n ? ` · ${fmt.plural(n, 'person', 'people')}` : ''),
        el('span', { class: 'avatar-stack' }, running.participants.slice(0, 4).map((p) => avatar(state.user(p.user_id), { size: 'sm' }))),
        time, join);
      node.hidden = false;
      return;
    }
    node.hidden = true;
    node.replaceChildren();
  }

  const offs = [calls.on('rooms', (id) => { if (!id || id === channelId) draw(); }), calls.on('change', draw), state.on('users', draw)];
  draw();
  return {
    node,
    destroy() {
      clearInterval(timer);
      offs.forEach((off) => off());
    },
  };
}
