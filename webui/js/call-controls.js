// call-controls.js is the call's one control bar — microphone, camera,
// screen share, hand, reactions, chat, more, leave — used full size in the
// call view and small in the widget, with the hints that belong next to the
// microphone: "you are muted" (talking while muted) and "the host asks you
// to unmute".
import { el } from './dom.js';
import { icon } from './icons.js';
import { openMenu, openPopover, popoverOpenFor, closePopover } from './popover.js';
import { canShareScreen } from './call-media.js';

const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
/** MUTE_SHORTCUT is how the mute shortcut is written on this platform. */
export const MUTE_SHORTCUT = isMac ? '⌘ ⇧ Space' : 'Ctrl+Shift+Space';

/** QUICK_REACTIONS are the emoji of the reaction bar. */
export const QUICK_REACTIONS = ['👍', '👏', '😂', '❤️', '🎉', '😮', '🙌', '👋'];

/**
 * callControls returns {node, update()}. compact: the widget's small
 * buttons. onExpand: shown in the compact bar's "more" menu.
 */
export function callControls({ calls, compact = false, onExpand = null }) {
  const size = compact ? 16 : 20;
  const button = (cls, onclick) => {
    const b = el('button', { type: 'button', class: ['call-button', compact && 'call-button-small', cls] });
    b.addEventListener('click', onclick);
    return b;
  };
  const set = (b, name, label, title = label, { off = false, active = false } = {}) => {
    b.replaceChildren(icon(name, { size }));
    b.setAttribute('aria-label', label);
    b.title = title;
    b.classList.toggle('is-off', off);
    b.classList.toggle('is-active', active);
  };

  const mic = button('call-mic', () => calls.toggleMute());
  const camera = button('call-camera', () => calls.toggleCamera());
  const share = button('call-share', () => calls.toggleScreen());
  const hand = button('call-hand', () => calls.toggleHand());
  const react = button('call-react', () => reactionBar(react));
  const chat = button('call-chat', () => calls.openChat());
  const more = button('call-more', () => moreMenu(more));
  const leave = button('call-leave', () => calls.leave());
  react.setAttribute('aria-haspopup', 'dialog');
  more.setAttribute('aria-haspopup', 'menu');
  set(react, 'smile', 'Send a reaction');
  set(chat, 'message', 'Chat', 'Open the call’s chat thread');
  set(more, 'more', 'More options');
  set(leave, 'phoneOff', 'Leave call');
  share.hidden = !canShareScreen();

  const mutedHint = el('div', { class: 'call-hint', role: 'status', hidden: true },
    icon('micOff', { size: 14 }), el('span', null, `You are muted. Press ${MUTE_SHORTCUT} to unmute.`));
  const unmuteYes = el('button', { type: 'button', class: 'button button-primary button-small' }, 'Unmute');
  const unmuteNo = el('button', { type: 'button', class: 'button button-secondary button-small' }, 'Not now');
  const askHint = el('div', { class: 'call-hint call-hint-ask', role: 'alert', hidden: true },
    icon('mic', { size: 14 }), el('span', null, 'The host asks you to unmute.'), unmuteNo, unmuteYes);
  unmuteYes.addEventListener('click', () => {
    if (calls.session?.muted) calls.toggleMute();
  });
  unmuteNo.addEventListener('click', () => {
    if (calls.session) calls.session.unmuteAsked = 0;
    calls.changed();
  });

  const bar = el('div', { class: ['call-controls', compact && 'call-controls-compact'], role: 'toolbar', 'aria-label': 'Call controls' },
    mic, camera, share, hand, react, chat, more, leave);
  const node = el('div', { class: 'call-controls-wrap' }, mutedHint, askHint, bar);

  function reactionBar(anchor) {
    if (popoverOpenFor(anchor)) {
      closePopover();
      return;
    }
    const list = el('div', { class: 'reaction-bar' }, QUICK_REACTIONS.map((emoji) => {
      const b = el('button', { type: 'button', class: 'reaction-bar-button', 'aria-label': `React with ${emoji}`, title: emoji }, emoji);
      b.addEventListener('click', () => {
        calls.react(emoji);
        // Closed after one: left open, the bar covers the hints above the controls.
        closePopover();
        anchor.focus({ preventScroll: true });
      });
      return b;
    }));
    openPopover(anchor, list, { label: 'Reactions', placement: 'above', className: 'popover-reactions' });
    list.querySelector('button')?.focus();
  }

  function moreMenu(anchor) {
    if (popoverOpenFor(anchor)) {
      closePopover();
      return;
    }
    const s = calls.session;
    const host = calls.isHost();
    const others = s ? [...s.participants.values()].filter((p) => p.id !== s.myPid) : [];
    openMenu(anchor, [
      onExpand ? { label: 'Show the call', icon: 'maximize', onSelect: onExpand } : null,
      { label: 'Audio and video settings', icon: 'settings', onSelect: () => calls.openSettings() },
      calls.popoutMode ? null : { label: 'Open in a new window', icon: 'popout', onSelect: () => calls.popOut() },
      { label: 'Copy call link', icon: 'link', onSelect: () => copyLink(s) },
      host ? 'separator' : null,
      host ? { heading: 'Host controls' } : null,
      host ? { label: 'Mute everyone', icon: 'micOff', disabled: !others.length, onSelect: () => calls.host('mute_all') } : null,
      host ? (s?.recording
        ? { label: 'Stop recording', icon: 'stop', onSelect: () => calls.record(false) }
        : { label: 'Start recording', icon: 'record', onSelect: () => calls.record(true) }) : null,
      host ? { label: 'End call for everyone', icon: 'phoneOff', danger: true, onSelect: () => calls.endForAll() } : null,
    ], { label: 'More call options', placement: 'above' });
  }

  async function copyLink(s) {
    if (!s) return;
    const link = `${location.origin}/call/${s.channelId}`;
    try {
      await navigator.clipboard.writeText(link);
      calls.ui.showNotice(`Copied the call link: ${link}`);
    } catch {
      calls.ui.showNotice(`The call link: ${link}`);
    }
  }

  function update() {
    const s = calls.session;
    if (!s) return;
    const live = Boolean(s.callId);
    for (const b of [mic, camera, share, hand, react, chat, more]) b.disabled = !live;
    set(mic, s.muted ? 'micOff' : 'mic', s.muted ? 'Unmute' : 'Mute',
      `${s.muted ? 'Unmute' : 'Mute'} (${MUTE_SHORTCUT})`, { off: s.muted });
    mic.dataset.muted = String(s.muted);
    set(camera, s.camera ? 'video' : 'videoOff', s.camera ? 'Turn camera off' : 'Turn camera on', undefined, { off: !s.camera });
    const busy = s.screenSharer && s.screenSharer !== s.myPid;
    set(share, s.screen ? 'screenOff' : 'screen', s.screen ? 'Stop sharing' : 'Share screen',
      busy ? `${calls.nameOf(s.screenSharer)} is sharing; one screen at a time` : undefined, { active: Boolean(s.screen) });
    set(hand, 'hand', s.handRaised ? 'Lower hand' : 'Raise hand', undefined, { active: s.handRaised });
    chat.disabled = !s.postId;
    mutedHint.hidden = !(s.muted && s.mutedHint);
    askHint.hidden = !(s.muted && s.unmuteAsked);
  }

  return { node, update };
}
