// composer.js is the message box under a room or a thread: Enter sends,
// Shift+Enter starts a new line, files can be attached (button, drop, paste)
// and upload with a progress bar before the post is sent, a leading "/"
// runs a slash command, and typing tells the room "… is typing".
import * as api from './api.js';
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import * as fmt from './format.js';
import { openEmojiPicker } from './emoji-picker.js';

const MAX_FILES = 10;
const MAX_HEIGHT = 240;

/**
 * composer returns {node, focus, addFiles(files), setTyping(text), destroy}.
 *
 * opts: {channelId, rootId, label, placeholder,
 *        onSend(message, fileIds) → promise, onCommand(text) → promise,
 *        onTyping(), onEditLast() → bool}
 */
export function composer({ channelId, label, placeholder, onSend, onCommand, onTyping, onEditLast }) {
  const areaId = uid('composer');
  const area = el('textarea', {
    id: areaId,
    class: 'composer-input',
    rows: 1,
    placeholder,
    'aria-label': label,
    maxlength: 16383,
    enterkeyhint: 'send',
  });
  const fileInput = el('input', { type: 'file', multiple: true, class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
  const attach = el('button', { type: 'button', class: 'icon-button composer-tool', 'aria-label': 'Attach files', title: 'Attach files' }, icon('paperclip'));
  const emoji = el('button', { type: 'button', class: 'icon-button composer-tool', 'aria-label': 'Insert emoji', title: 'Insert emoji' }, icon('smile'));
  const send = el('button', { type: 'submit', class: 'composer-send', 'aria-label': 'Send', title: 'Send (Enter)', disabled: true }, icon('send', { size: 16 }));
  const files = el('ul', { class: 'composer-files', role: 'list', 'aria-label': 'Attachments' });
  const error = el('p', { class: 'composer-error', role: 'alert', hidden: true });
  const typing = el('p', { class: 'composer-typing', 'aria-live': 'polite' });
  const form = el('form', { class: 'composer' },
    el('div', { class: 'composer-box' },
      files,
      area,
      el('div', { class: 'composer-bar' },
        el('div', { class: 'composer-tools' }, attach, emoji),
        el('span', { class: 'composer-hint' }, el('kbd', null, 'Enter'), ' to send, ', el('kbd', null, 'Shift + Enter'), ' for a new line'),
        send)),
    fileInput,
    el('div', { class: 'composer-foot' }, typing, error),
  );

  const uploads = []; // {file, node, bar, done, fileId, abort, error}
  let pending = 0; // sends on their way
  let queue = Promise.resolve();

  const busy = () => uploads.some((u) => !u.fileId && !u.error);
  const ready = () => uploads.filter((u) => u.fileId);

  function refresh() {
    send.disabled = busy() || (area.value.trim() === '' && ready().length === 0);
    files.hidden = uploads.length === 0;
    form.setAttribute('aria-busy', String(pending > 0));
  }

  function grow() {
    area.style.height = 'auto';
    area.style.height = `${Math.min(area.scrollHeight, MAX_HEIGHT)}px`;
    area.classList.toggle('is-scrolling', area.scrollHeight > MAX_HEIGHT);
  }

  function showError(message) {
    error.textContent = message || '';
    error.hidden = !message;
  }

  function addFiles(list) {
    const incoming = [...list];
    if (!incoming.length) return;
    showError('');
    if (uploads.length + incoming.length > MAX_FILES) {
      showError(`Attach at most ${MAX_FILES} files to one message.`);
      incoming.length = Math.max(0, MAX_FILES - uploads.length);
    }
    for (const file of incoming) {
      const bar = el('progress', { class: 'upload-bar', max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
      const state = el('span', { class: 'upload-state' }, fmt.size(file.size));
      const remove = el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${file.name}` }, icon('close', { size: 12 }));
      const node = el('li', { class: 'upload' },
        el('span', { class: 'upload-icon', 'aria-hidden': 'true' }, icon('file', { size: 18 })),
        el('span', { class: 'upload-text' }, el('span', { class: 'upload-name', title: file.name }, file.name), state, bar),
        remove);
      const item = { file, node, bar, fileId: null, error: null, abort: null };
      const job = api.upload(channelId, file, (f) => { bar.value = f; });
      item.abort = job.abort;
      job.promise.then((stored) => {
        item.fileId = stored.id;
        bar.remove();
        state.textContent = fmt.size(stored.size ?? file.size);
        node.classList.add('is-done');
      }, (err) => {
        if (err.code === 'aborted') return;
        item.error = err;
        bar.remove();
        state.textContent = err.message;
        node.classList.add('is-failed');
      }).finally(refresh);
      remove.addEventListener('click', () => {
        if (!item.fileId && !item.error) item.abort();
        uploads.splice(uploads.indexOf(item), 1);
        node.remove();
        refresh();
        area.focus();
      });
      uploads.push(item);
      files.append(node);
    }
    refresh();
  }

  // submit takes what is in the box at once and clears it, so the next
  // message can be typed (and sent) while this one is on its way; sends go
  // out one after another, in the order typed. A send that fails puts its
  // text (and attachments) back, unless something new was typed meanwhile.
  function submit() {
    const text = area.value.trim();
    if (busy()) {
      showError('Wait for the upload to finish, then send.');
      return;
    }
    const attached = ready();
    if (!text && !attached.length) return;
    const fileIds = attached.map((u) => u.fileId);
    for (const u of attached) {
      uploads.splice(uploads.indexOf(u), 1);
      u.node.remove();
    }
    area.value = '';
    grow();
    showError('');
    pending++;
    refresh();
    queue = queue.then(async () => {
      try {
        if (text.startsWith('/') && !text.startsWith('//') && !fileIds.length) await onCommand(text);
        else await onSend(text.startsWith('//') ? text.slice(1) : text, fileIds);
      } catch (err) {
        showError(err.code === 'rate_limited'
          ? 'You are sending messages too fast. Wait a moment.'
          : `Not sent: ${err.message}`);
        if (area.value.trim() === '' && !uploads.length) {
          area.value = text;
          for (const u of attached) {
            uploads.push(u);
            files.append(u.node);
          }
          grow();
        }
      } finally {
        pending--;
        refresh();
      }
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey) {
      event.preventDefault();
      submit();
    } else if (event.key === 'ArrowUp' && area.value === '' && onEditLast) {
      if (onEditLast()) event.preventDefault();
    }
  });
  area.addEventListener('input', () => {
    grow();
    refresh();
    if (area.value.trim() && !area.value.startsWith('/')) onTyping?.();
  });
  area.addEventListener('paste', (event) => {
    const pasted = [...(event.clipboardData?.files || [])];
    if (pasted.length) {
      event.preventDefault();
      addFiles(pasted);
    }
  });
  attach.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    addFiles(fileInput.files);
    fileInput.value = '';
  });
  emoji.addEventListener('click', () => openEmojiPicker(emoji, (ch) => {
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.setRangeText(ch, start, end, 'end');
    area.focus();
    grow();
    refresh();
  }));

  refresh();
  return {
    node: form,
    focus: () => area.focus({ preventScroll: true }),
    addFiles,
    setTyping: (text) => { typing.textContent = text; },
    destroy() {
      for (const u of uploads) if (!u.fileId && !u.error) u.abort();
    },
  };
}
