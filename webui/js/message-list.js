// message-list.js is the scrolling list of posts of a room or a thread:
// day separators, consecutive posts by one author grouped under one name,
// infinite scroll upwards, and "stick to the bottom" while new posts come in.
// Post nodes are cached by id and version, so a new post or a reaction
// redraws one node, not the list.
import { el } from './dom.js';
import { icon } from './icons.js';
import * as fmt from './format.js';
import { editForm, renderPost } from './post.js';

// Posts by one author closer together than this share one header.
const GROUP_MS = 5 * 60 * 1000;
// Start loading older posts this close to the top.
const PRELOAD_PX = 400;

/**
 * messageList returns the list component.
 *
 * opts: {state, mode: 'channel' | 'thread', label, intro() → node,
 *        loadOlder(beforeId) → {posts, has_more} (channel mode),
 *        ctx: the post callbacks of post.js (onReact, onOpenThread, ...),
 *        onSaveEdit(post, message) → promise}
 */
export function messageList({ state, mode, label, intro, loadOlder, ctx, onSaveEdit }) {
  const posts = new Map(); // id → post
  const revs = new Map(); // id → version counter
  const cache = new Map(); // key → {version, node}
  let epoch = 0;
  let editingId = null;
  let hasMore = false;
  let loading = false;
  let oldestId = '';
  let stick = true;
  let ready = false;

  const top = el('div', { class: 'list-top' });
  const list = el('div', { class: 'message-items' });
  const scroller = el('div', {
    class: 'message-scroll',
    role: 'log',
    'aria-label': label,
    'aria-live': 'polite',
    'aria-relevant': 'additions',
    tabindex: '0',
    'aria-busy': 'true',
  }, top, list);

  const bump = (id) => revs.set(id, (revs.get(id) || 0) + 1);
  const visible = (p) => (mode === 'channel' ? !p.root_id : true);

  // Oldest first; posts of the same millisecond keep the order they came in
  // (sort is stable).
  function ordered() {
    return [...posts.values()].filter(visible).sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  }

  function render({ keepFromBottom = false } = {}) {
    const before = scroller.scrollHeight - scroller.scrollTop;
    const items = [];
    let prev = null;
    const rows = ordered();
    let replies = 0;
    for (const [i, p] of rows.entries()) {
      if (mode === 'thread' && i === 1) {
        replies = rows.length - 1;
        items.push(keyed(`replies-${replies}`, () => el('div', { class: 'thread-divider', role: 'separator' },
          el('span', null, fmt.plural(replies, 'reply', 'replies')))));
        prev = null;
      }
      const day = fmt.dayKey(p.created_at);
      if (mode === 'channel' && (!prev || fmt.dayKey(prev.created_at) !== day)) {
        items.push(keyed(`day-${day}`, () => el('div', { class: 'day-divider', role: 'separator' },
          el('span', null, fmt.dayLabel(p.created_at)))));
        prev = null;
      }
      const compact = Boolean(prev
        && prev.user_id === p.user_id
        && prev.type === p.type
        && !p.type?.startsWith('system')
        && Date.parse(p.created_at) - Date.parse(prev.created_at) < GROUP_MS
        && !(mode === 'thread' && i === 0));
      const version = `${epoch}.${revs.get(p.id) || 0}.${compact}.${editingId === p.id}`;
      items.push(keyed(`post-${p.id}`, () => build(p, compact), version));
      prev = p;
    }

    // Reconcile: move or insert only what changed, so nodes that stay keep
    // their images, focus and hover state.
    let cursor = list.firstChild;
    for (const node of items) {
      if (node === cursor) {
        cursor = cursor.nextSibling;
      } else {
        list.insertBefore(node, cursor);
      }
    }
    while (cursor) {
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
    const live = new Set(items);
    for (const [key, entry] of cache) if (!live.has(entry.node)) cache.delete(key);

    renderTop();
    if (keepFromBottom) {
      scroller.scrollTop = scroller.scrollHeight - before;
    } else if (stick) {
      scrollToBottom();
    }
  }

  function keyed(key, make, version = '') {
    const hit = cache.get(key);
    if (hit && hit.version === version) return hit.node;
    const node = make();
    cache.set(key, { version, node });
    return node;
  }

  function build(p, compact) {
    const node = renderPost(p, { ...ctx, state, compact, mode });
    if (editingId === p.id) {
      const body = node.querySelector('.post-body');
      node.classList.add('post-editing');
      node.querySelector('.post-toolbar')?.remove();
      node.querySelector('.post-edited')?.remove();
      body.replaceWith(editForm(p, {
        onSave: (message) => onSaveEdit(p, message),
        done: () => {
          editingId = null;
          render();
          cache.get(`post-${p.id}`)?.node.querySelector('.toolbar-button')?.focus({ preventScroll: true });
        },
      }));
    }
    return node;
  }

  function renderTop() {
    if (mode !== 'channel') {
      top.replaceChildren();
      return;
    }
    if (!ready) {
      top.replaceChildren(el('div', { class: 'list-loading', role: 'status' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading messages…'));
    } else if (hasMore) {
      const more = el('button', { type: 'button', class: 'load-more', onclick: () => older() }, loading ? 'Loading…' : 'Load older messages');
      more.disabled = loading;
      top.replaceChildren(more);
    } else {
      top.replaceChildren(intro?.() || '');
    }
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  async function older() {
    if (loading || !hasMore || mode !== 'channel') return;
    loading = true;
    scroller.setAttribute('aria-busy', 'true');
    renderTop();
    try {
      const res = await loadOlder(oldestId);
      addBatch(res.posts || []);
      hasMore = Boolean(res.has_more);
    } catch (err) {
      top.replaceChildren(el('p', { class: 'list-error', role: 'alert' }, icon('alert', { size: 16 }), `Could not load older messages: ${err.message}`));
      loading = false;
      scroller.setAttribute('aria-busy', 'false');
      return;
    }
    loading = false;
    render({ keepFromBottom: true });
    scroller.setAttribute('aria-busy', 'false');
    fillViewport();
  }

  // Replies are not shown in the room, so a page may show little: keep
  // loading until the list can scroll (or the room's start is reached).
  function fillViewport() {
    requestAnimationFrame(() => {
      if (hasMore && !loading && scroller.scrollHeight <= scroller.clientHeight + PRELOAD_PX) older();
    });
  }

  function addBatch(batch) {
    for (const p of batch) {
      if (!posts.has(p.id)) {
        posts.set(p.id, p);
        bump(p.id);
      }
    }
    // Pages are newest first; the cursor is the oldest post of the page.
    if (batch.length) oldestId = batch[batch.length - 1].id;
  }

  scroller.addEventListener('scroll', () => {
    stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
    if (scroller.scrollTop < PRELOAD_PX) older();
  }, { passive: true });
  // Images and fonts change heights after the first paint.
  const resize = new ResizeObserver(() => {
    if (stick) scrollToBottom();
  });
  resize.observe(list);

  const unsubUsers = state.on('users', () => {
    epoch += 1;
    render();
  });

  return {
    node: scroller,

    /** setPage shows the first (newest) page of a room. */
    setPage(page, more) {
      posts.clear();
      cache.clear();
      addBatch(page);
      hasMore = Boolean(more);
      ready = true;
      stick = true;
      render();
      scroller.setAttribute('aria-busy', 'false');
      fillViewport();
    },

    /** setThread shows a root and its replies. */
    setThread(root, replies) {
      posts.clear();
      cache.clear();
      for (const p of [root, ...replies]) {
        posts.set(p.id, p);
        bump(p.id);
      }
      ready = true;
      stick = true;
      render();
      scroller.setAttribute('aria-busy', 'false');
    },

    /** upsert adds or replaces a post; false when it was already there unchanged. */
    upsert(post, { scroll = false } = {}) {
      const had = posts.has(post.id);
      posts.set(post.id, { ...posts.get(post.id), ...post });
      bump(post.id);
      if (scroll) stick = true;
      render();
      return !had;
    },

    /** patch changes a shown post in place: fn(post) returns the new post. */
    patch(id, fn) {
      const p = posts.get(id);
      if (!p) return;
      posts.set(id, fn(p));
      bump(id);
      render();
    },

    get(id) {
      return posts.get(id) || null;
    },

    has(id) {
      return posts.has(id);
    },

    remove(id) {
      if (!posts.delete(id)) return;
      render();
    },

    /** addEphemeral shows a message only this browser sees (a slash command's answer). */
    addEphemeral(text) {
      const id = `ephemeral-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      posts.set(id, { id, type: 'ephemeral', user_id: 'system', root_id: '', message: text, created_at: new Date().toISOString() });
      stick = true;
      render();
    },

    edit(id) {
      editingId = id;
      render();
    },

    /** editLast starts editing my newest post (the Up arrow in an empty composer). */
    editLast() {
      const mine = ordered().filter((p) => p.user_id === state.me.id && !p.type).pop();
      if (mine) {
        editingId = mine.id;
        render();
        return true;
      }
      return false;
    },

    /** highlight scrolls to a post and flashes it. */
    highlight(id) {
      const node = cache.get(`post-${id}`)?.node;
      if (!node) return false;
      stick = false;
      node.scrollIntoView({ block: 'center' });
      node.classList.remove('post-flash');
      void node.offsetWidth;
      node.classList.add('post-flash');
      return true;
    },

    refresh: () => {
      epoch += 1;
      render();
    },

    scrollToBottom: () => {
      stick = true;
      scrollToBottom();
    },

    destroy() {
      resize.disconnect();
      unsubUsers();
    },
  };
}
