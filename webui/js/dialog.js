// dialog.js opens modal dialogs on the native <dialog> element: focus is
// trapped and restored by the browser, Escape closes, the page behind is inert.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { sentence } from './auth-card.js';

/**
 * openDialog shows a modal form.
 *
 *   openDialog({ title, content: [nodes], submitLabel: 'Create', onSubmit: async () => {...} })
 *
 * onSubmit runs on submit; when it throws, its message is shown and the
 * dialog stays; when it resolves, the dialog closes. Without submitLabel
 * there is only a Close button. Returns {node, form, close, setError, setBusy}.
 */
export function openDialog({ title, description, content = [], submitLabel, cancelLabel = 'Cancel', onSubmit, onClose, className }) {
  const titleId = uid('dialog-title');
  const errorId = uid('dialog-error');
  const error = el('p', { id: errorId, class: 'form-error', role: 'alert', hidden: true });
  const submit = submitLabel ? el('button', { type: 'submit', class: 'button button-primary' }, submitLabel) : null;
  const cancel = el('button', { type: 'button', class: 'button button-secondary' }, submitLabel ? cancelLabel : 'Close');
  const closeX = el('button', { type: 'button', class: 'icon-button dialog-close', 'aria-label': 'Close' }, icon('close'));
  const form = el('form', { class: 'dialog-form', novalidate: true },
    el('header', { class: 'dialog-header' },
      el('h2', { id: titleId, class: 'dialog-title' }, title),
      closeX),
    description ? el('p', { class: 'dialog-description' }, description) : null,
    el('div', { class: 'dialog-body' }, content),
    error,
    el('footer', { class: 'dialog-footer' }, cancel, submit),
  );
  const node = el('dialog', { class: ['dialog', className], 'aria-labelledby': titleId }, form);

  const setError = (message) => {
    error.textContent = message ? sentence(message) : '';
    error.hidden = !message;
  };
  const setBusy = (busy) => {
    if (submit) {
      submit.disabled = busy;
      submit.setAttribute('aria-busy', String(busy));
    }
  };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (node.open) node.close();
    node.remove();
    onClose?.();
  };

  cancel.addEventListener('click', close);
  closeX.addEventListener('click', close);
  node.addEventListener('close', close);
  // A click on the backdrop (the dialog element itself, outside the form) closes.
  node.addEventListener('click', (event) => {
    if (event.target === node) close();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!onSubmit) {
      close();
      return;
    }
    setError('');
    setBusy(true);
    try {
      await onSubmit();
      close();
    } catch (err) {
      setError(err?.message || 'Something went wrong. Try again.');
      setBusy(false);
    }
  });

  document.body.append(node);
  node.showModal();
  return { node, form, close, setError, setBusy };
}

/** confirmDialog asks a yes/no question; resolves to true when confirmed. */
export function confirmDialog({ title, text, confirmLabel = 'OK', danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const d = openDialog({
      title,
      content: [el('p', { class: 'dialog-text' }, text)],
      submitLabel: confirmLabel,
      onSubmit: () => { answer = true; },
      onClose: () => resolve(answer),
      className: 'dialog-small',
    });
    if (danger) d.form.querySelector('button[type="submit"]').classList.add('button-danger');
  });
}

/** textField is a labelled input for dialogs. Returns {wrap, input}. */
export function textField({ label, name, value = '', placeholder, hint, required = false, maxlength, autocomplete = 'off' }) {
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const input = el('input', {
    id, name, class: 'input', type: 'text', value, placeholder, required, maxlength, autocomplete,
    spellcheck: 'false', 'aria-describedby': hintId,
  });
  const hintNode = hint ? el('p', { id: hintId, class: 'field-hint' }, hint) : null;
  const wrap = el('div', { class: 'field' }, el('label', { for: id, class: 'field-label' }, label), input, hintNode);
  return { wrap, input, hint: hintNode };
}
