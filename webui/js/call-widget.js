// call-widget.js is the compact call bar that stays on screen wherever you
// go in the app while you are in a call: where the call is, how long it has
// run, who is in it and who is talking, and the controls. "Calling…" while
// a DM call rings; a note with a Leave button while the call runs in a
// pop-out window.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { avatar } from './avatar.js';
import { callControls } from './call-controls.js';
import { elapsed } from './call-card.js';

/** callWidget returns {node, destroy()}. */
export function callWidget({ calls, state }) {
  const titleId = uid('widget-title');
  const where = el('button', { type: 'button', id: titleId, class: 'widget-where', title: 'Go to the call’s room' });
  const timer = el('span', { class: 'widget-timer' });
  const rec = el('span', { class: 'call-rec call-rec-small', hidden: true, title: 'This call is being recorded' }, el('span', { class: 'call-rec-dot', 'aria-hidden': 'true' }), 'REC');
  const people = el('span', { class: 'avatar-stack widget-people' });
  const expand = el('button', { type: 'button', class: 'widget-icon-button', 'aria-label': 'Show the call', title: 'Show the call' }, icon('maximize', { size: 16 }));
  const line = el('p', { class: 'widget-line' });
  const controls = callControls({ calls, compact: true });
  const sound = el('button', { type: 'button', class: 'button button-primary button-small widget-sound', hidden: true, onclick: () => calls.unblockSound() },
    icon('volumeOff', { size: 14 }), 'Turn on the call’s sound');
  const elsewhere = el('div', { class: 'widget-elsewhere', hidden: true },
    el('p', null, icon('popout', { size: 14 }), 'The call is open in another window.'),
    el('div', { class: 'widget-elsewhere-actions' },
      el('button', { type: 'button', class: 'button button-secondary button-small', onclick: () => calls.popout?.window?.focus() }, 'Show window'),
      el('button', { type: 'button', class: 'button button-danger button-small', onclick: () => calls.leave() }, 'Leave')));
  const node = el('section', { class: 'call-widget', 'aria-labelledby': titleId, hidden: true },
    el('div', { class: 'widget-head' },
      el('span', { class: 'call-live-dot', 'aria-hidden': 'true' }),
      el('div', { class: 'widget-heading' }, where, el('span', { class: 'widget-sub' }, timer, rec, people)),
      expand),
    line, sound, controls.node, elsewhere);

  where.addEventListener('click', () => {
    const id = calls.session?.channelId || calls.popout?.channelId;
    if (id) calls.ui.openRoom(id);
  });
  expand.addEventListener('click', () => {
    if (calls.session) {
      const id = calls.session.channelId;
      calls.ui.openRoom(id);
      calls.expand();
    } else {
      calls.popout?.window?.focus();
    }
  });

  function draw() {
    const s = calls.session;
    const popped = calls.popout?.active && !s;
    node.hidden = !(popped || (s && !calls.expanded));
    if (node.hidden) return;
    const channelId = s?.channelId || calls.popout.channelId;
    const c = calls.ui.channel(channelId);
    const name = calls.ui.roomName(channelId);
    const title = calls.session?.title;
    where.textContent = title || (c?.type === 'dm' ? `Call with ${name}` : `Call in ${c && c.type !== 'group' ? '#' : ''}${name}`);
    controls.node.hidden = Boolean(popped);
    elsewhere.hidden = !popped;
    line.hidden = Boolean(popped);
    expand.hidden = Boolean(popped);
    if (popped) {
      timer.textContent = '';
      people.replaceChildren();
      return;
    }
    rec.hidden = !s.recording;
    const list = [...s.participants.values()];
    people.replaceChildren(...list.slice(0, 4).map((p) => {
      const a = avatar(state.user(p.userId), { size: 'xs' });
      if (p.speaking && !p.muted) a.classList.add('is-speaking');
      return a;
    }));
    const talking = list.filter((p) => p.speaking && !p.muted && p.id !== s.myPid);
    let text;
    if (s.phase === 'joining') text = 'Joining…';
    else if (s.ring) text = `Calling ${state.userName(s.ring.callee_id)}…`;
    else if (s.phase === 'connecting') text = 'Connecting…';
    else if (s.phase === 'reconnecting') text = 'Reconnecting…';
    else if (s.screenSharer && s.screenSharer !== s.myPid) text = `${calls.nameOf(s.screenSharer)} is presenting`;
    else if (talking.length) text = `${talking.map((p) => state.userName(p.userId)).join(', ')} ${talking.length === 1 ? 'is' : 'are'} talking`;
    else text = list.length <= 1 ? 'Only you are here' : `${list.length} people`;
    line.textContent = text;
    sound.hidden = !s.soundBlocked;
    line.classList.toggle('is-calling', Boolean(s.ring));
    node.classList.toggle('is-calling', Boolean(s.ring));
    drawTimer();
    controls.update();
  }

  function drawTimer() {
    const s = calls.session;
    timer.textContent = s?.startedAt && !s.ring ? elapsed(s.startedAt) : '';
  }

  const offs = [calls.on('change', draw), state.on('users', draw)];
  const tick = setInterval(drawTimer, 1000);
  draw();
  return {
    node,
    destroy() {
      offs.forEach((off) => off());
      clearInterval(tick);
    },
  };
}
