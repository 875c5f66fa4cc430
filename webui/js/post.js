// post.js draws one message: avatar, author, time, the body, attachments,
// reactions, the reply count and the hover toolbar. The body is the only
// place server HTML goes in: post.html, which the server renders from
// Markdown and sanitises; everything else is built as text.
import * as api from './api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName, presenceAvatar } from './avatar.js';
import { emojiName } from './emoji.js';
import * as fmt from './format.js';
import { callCard, missedCall } from './call-card.js';

const BROADCAST = new Set(['all', 'channel', 'here']);

/**
 * renderPost returns an <article> for a post.
 *
 * ctx: {state, compact, mode ('channel' | 'thread' | 'search'), canPost,
 *       onReact(post, emoji, anchor), onPickReaction(post, anchor),
 *       onOpenThread(post), onEdit(post), onDelete(post), onStartDiscussion(post)?}
 */
export function renderPost(post, ctx) {
  const { state, compact = false, mode = 'channel' } = ctx;
  const author = post.type === 'ephemeral' ? { id: 'system', username: 'calls', display_name: 'calls' } : state.user(post.user_id);
  const mine = post.user_id === state.me.id;
  const system = isSystem(post);

  const body = el('div', { class: 'post-body' });
  if (post.type === 'call') body.append(callCard(post, ctx));
  else if (post.type === 'call_missed') body.append(missedCall(post, ctx));
  else fillBody(body, post, state);
  const mentionsMe = (post.mentions || []).includes(state.me.id) || body.querySelector('.mention-me') !== null;

  const when = el('time', { class: 'post-time', datetime: post.created_at, title: fmt.fullTime(post.created_at) }, fmt.time(post.created_at));
  const header = compact ? null : el('div', { class: 'post-meta' },
    el('span', { class: 'post-author' }, displayName(author)),
    author.is_bot ? el('span', { class: 'tag' }, 'BOT') : null,
    when,
    post.type === 'ephemeral' ? el('span', { class: 'tag tag-muted' }, 'Only visible to you') : null,
  );
  const gutter = el('div', { class: 'post-gutter' },
    compact
      ? el('time', { class: 'post-hover-time', datetime: post.created_at, title: fmt.fullTime(post.created_at) }, fmt.time(post.created_at))
      : (post.type === 'ephemeral' ? avatar(author) : presenceAvatar(author, state.presence(author.id))),
  );

  const main = el('div', { class: 'post-main' },
    header,
    body,
    post.edited_at ? el('span', { class: 'post-edited', title: `Edited ${fmt.fullTime(post.edited_at)}` }, '(edited)') : null,
    files(post),
    reactions(post, ctx),
    mode === 'channel' && post.reply_count > 0 ? el('button', {
      type: 'button',
      class: 'post-replies',
      onclick: () => ctx.onOpenThread(post),
    }, icon('message', { size: 14 }), fmt.plural(post.reply_count, 'reply', 'replies')) : null,
  );

  const node = el('article', {
    class: ['post', compact && 'post-compact', system && 'post-system', post.type === 'ephemeral' && 'post-ephemeral',
      mentionsMe && !mine && 'post-mention', post.pending && 'post-pending'],
    dataset: { postId: post.id, userId: post.user_id },
    'aria-label': `${displayName(author)}, ${fmt.time(post.created_at)}`,
  }, gutter, main, post.type === 'ephemeral' ? null : toolbar(post, ctx, mine));
  return node;
}

/** fillBody puts the post's sanitised HTML (or its plain text) into body. */
export function fillBody(body, post, state) {
  if (typeof post.html === 'string' && post.html !== '') {
    // post.html is sanitised by the server (see API.md): this is the single
    // place the UI parses HTML it did not build itself.
    const tpl = document.createElement('template');
    tpl.innerHTML = post.html;
    for (const a of tpl.content.querySelectorAll('a[href]')) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
    }
    const me = state.me.username.toLowerCase();
    for (const m of tpl.content.querySelectorAll('.mention[data-mention]')) {
      const name = m.dataset.mention.toLowerCase();
      if (name === me || BROADCAST.has(name)) m.classList.add('mention-me');
    }
    body.replaceChildren(tpl.content);
  } else {
    body.classList.add('post-body-text');
    body.textContent = post.message || '';
  }
}

function isSystem(post) {
  return typeof post.type === 'string' && post.type.startsWith('system');
}

function files(post) {
  const list = Array.isArray(post.files) && post.files.length
    ? post.files
    : (post.file_ids || []).map((id) => ({ id, name: 'Attachment', size: -1, content_type: '' }));
  if (!list.length) return null;
  return el('div', { class: 'post-files' }, list.map((f) => {
    const type = f.content_type || '';
    if (type.startsWith('image/') && type !== 'image/svg+xml') {
      return el('a', {
        class: 'file-image',
        href: api.fileURL(f.id),
        target: '_blank',
        rel: 'noopener',
        title: `${f.name} (${fmt.size(f.size)})`,
      }, el('img', { src: api.fileURL(f.id), alt: f.name, loading: 'lazy', decoding: 'async' }));
    }
    const card = fileCard(f);
    // Sound and video (call recordings among them) play in the browser's
    // own player; only the header's metadata loads until someone presses play.
    if (type.startsWith('video/') || type.startsWith('audio/')) {
      const player = el(type.startsWith('audio/') ? 'audio' : 'video', {
        class: 'file-player', controls: true, preload: 'metadata', src: api.fileURL(f.id), 'aria-label': f.name,
      });
      return el('figure', { class: 'file-media' }, player, card);
    }
    return card;
  }));
}

function fileCard(f) {
  return el('a', {
    class: 'file-card',
    href: api.fileURL(f.id, { download: true }),
    download: f.name,
    title: `Download ${f.name}`,
  },
  el('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon('file', { size: 20 })),
  el('span', { class: 'file-text' },
    el('span', { class: 'file-name' }, f.name),
    el('span', { class: 'file-size' }, [fmt.size(f.size), extension(f.name)].filter(Boolean).join(' · '))),
  el('span', { class: 'file-download', 'aria-hidden': 'true' }, icon('download', { size: 16 })));
}

function extension(name) {
  const m = /\.([a-z0-9]{1,8})$/i.exec(name || '');
  return m ? m[1].toUpperCase() : '';
}

function reactions(post, ctx) {
  const list = (post.reactions || []).filter((r) => r.user_ids?.length);
  if (!list.length) return null;
  const { state } = ctx;
  const chips = list.map((r) => {
    const mine = r.user_ids.includes(state.me.id);
    const who = r.user_ids.map((id) => (id === state.me.id ? 'you' : state.userName(id)));
    return el('button', {
      type: 'button',
      class: 'reaction',
      'aria-pressed': String(mine),
      title: `${fmt.names(who, { max: 10 })} reacted with ${emojiName(r.emoji)}`,
      'aria-label': `${emojiName(r.emoji)}: ${r.user_ids.length}${mine ? ', including you' : ''}`,
      dataset: { emoji: r.emoji },
      disabled: ctx.canPost === false,
      onclick: (event) => ctx.onReact(post, r.emoji, event.currentTarget),
    }, el('span', { class: 'reaction-emoji' }, r.emoji), el('span', { class: 'reaction-count' }, String(r.user_ids.length)));
  });
  const add = ctx.canPost === false ? null : el('button', {
    type: 'button',
    class: 'reaction reaction-add',
    'aria-label': 'Add reaction',
    title: 'Add reaction',
    onclick: (event) => ctx.onPickReaction(post, event.currentTarget),
  }, icon('smile', { size: 16 }));
  return el('div', { class: 'post-reactions' }, chips, add);
}

function toolbar(post, ctx, mine) {
  const { mode, canPost = true } = ctx;
  const button = (name, label, onclick) => el('button', {
    type: 'button', class: 'toolbar-button', 'aria-label': label, title: label, onclick,
  }, icon(name, { size: 16 }));
  const canReply = mode !== 'thread' && !post.root_id && canPost;
  const canDelete = mine || ctx.state.me.role === 'admin';
  const items = [
    canPost ? button('smile', 'Add reaction', (event) => ctx.onPickReaction(post, event.currentTarget)) : null,
    canReply ? button('message', 'Reply in thread', () => ctx.onOpenThread(post)) : null,
    canReply && ctx.onStartDiscussion && !post.pending ? button('discussion', 'Start a discussion', () => ctx.onStartDiscussion(post)) : null,
    // Only plain messages can be edited (not /me or call posts).
    mine && canPost && !post.type ? button('edit', 'Edit', () => ctx.onEdit(post)) : null,
    canDelete && mode !== 'search' ? button('trash', 'Delete', () => ctx.onDelete(post)) : null,
  ].filter(Boolean);
  if (!items.length || mode === 'search') return null;
  return el('div', { class: 'post-toolbar', role: 'toolbar', 'aria-label': 'Message actions' }, items);
}

/**
 * editForm swaps a post's body for a textarea. Enter saves through
 * onSave(message) (a promise), Escape cancels; both call done().
 */
export function editForm(post, { onSave, done }) {
  const area = el('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: 2 });
  area.value = post.message;
  const error = el('p', { class: 'edit-error', role: 'alert', hidden: true });
  const save = el('button', { type: 'submit', class: 'button button-primary button-small' }, 'Save');
  const cancel = el('button', { type: 'button', class: 'button button-secondary button-small', onclick: () => done() }, 'Cancel');
  const form = el('form', { class: 'edit-form' }, area, error,
    el('div', { class: 'edit-actions' }, el('span', { class: 'edit-hint' }, 'Enter to save · Escape to cancel'), cancel, save));
  const grow = () => {
    area.style.height = 'auto';
    area.style.height = `${Math.min(area.scrollHeight + 2, 320)}px`;
  };
  area.addEventListener('input', grow);
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      done();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = area.value.trim();
    if (message === post.message.trim()) {
      done();
      return;
    }
    save.disabled = true;
    try {
      await onSave(message);
      done();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      save.disabled = false;
    }
  });
  queueMicrotask(() => {
    grow();
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  });
  return form;
}
