// panel-frame.js is the frame every right-hand panel (thread, members,
// search results, call history) shares: a heading with an optional subtitle
// and a close button, and a scrolling body.
import { el, uid } from './dom.js';
import { icon } from './icons.js';

/** panelFrame returns {node, body, setSubtitle, focus}. onClose runs on the close button. */
export function panelFrame({ title, subtitle = '', onClose, className }) {
  const titleId = uid('panel-title');
  const heading = el('h2', { id: titleId, class: 'panel-title', tabindex: '-1' }, title);
  const sub = el('p', { class: 'panel-subtitle' }, subtitle);
  const body = el('div', { class: 'panel-body' });
  const close = el('button', {
    type: 'button',
    class: 'icon-button panel-close',
    'aria-label': `Close ${title.toLowerCase()}`,
    title: 'Close',
    onclick: onClose,
  }, icon('close'));
  const back = el('button', {
    type: 'button',
    class: 'icon-button panel-back',
    'aria-label': 'Back',
    onclick: onClose,
  }, icon('arrowLeft'));
  const node = el('section', { class: ['panel', className], 'aria-labelledby': titleId },
    el('header', { class: 'panel-header' }, back, el('div', { class: 'panel-heading' }, heading, sub), close),
    body);
  return {
    node,
    body,
    setSubtitle: (text) => { sub.textContent = text; },
    focus: () => heading.focus({ preventScroll: true }),
  };
}
