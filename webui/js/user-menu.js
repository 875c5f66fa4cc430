// user-menu.js is the account button at the foot of the sidebar and the menu
// it opens (who you are signed in as, System console for admins, Log out).
// Menu-button keyboard pattern:
// Enter/Space/ArrowUp open it on an item, arrows move, Escape closes.
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { avatar, displayName } from './avatar.js';

/**
 * userMenu returns {node, setUser(user)}; onLogout() runs when "Log out" is
 * chosen, onConsole() when an admin chooses "System console".
 */
export function userMenu({ user, onLogout, onConsole }) {
  const menuId = uid('user-menu');
  const button = el('button', {
    type: 'button',
    class: 'account-button',
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    'aria-controls': menuId,
  });
  const summary = el('div', { class: 'menu-summary' });
  const logout = el('button', { type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1' },
    icon('logout', { size: 16 }), el('span', null, 'Log out'));
  const consoleItem = el('button', { type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1', hidden: true },
    icon('shield', { size: 16 }), el('span', null, 'System console'));
  const menu = el('div', { id: menuId, class: 'menu', role: 'menu', 'aria-label': 'Account', hidden: true },
    summary,
    el('div', { class: 'menu-separator', role: 'separator' }),
    consoleItem,
    logout,
  );
  const node = el('div', { class: 'account' }, menu, button);
  const items = () => [...menu.querySelectorAll('[role="menuitem"]:not([disabled]):not([hidden])')];

  const setUser = (u) => {
    user = u;
    const name = displayName(u);
    button.replaceChildren(
      el('span', { class: 'avatar-wrap' }, avatar(u), el('span', { class: 'presence presence-online', 'aria-hidden': 'true' })),
      el('span', { class: 'account-names' },
        el('span', { class: 'account-name' }, name),
        name !== u.username ? el('span', { class: 'account-handle' }, `@${u.username}`) : null,
      ),
      icon('chevronDown', { size: 16, className: 'account-chevron' }),
    );
    button.title = `Account menu for ${u.username}`;
    consoleItem.hidden = u.role !== 'admin' || !onConsole;
    summary.replaceChildren(
      avatar(u, { size: 'lg' }),
      el('div', { class: 'menu-summary-text' },
        el('div', { class: 'menu-summary-name' }, name),
        el('div', { class: 'menu-summary-meta' }, `@${u.username}`, u.role === 'admin' ? ' · Administrator' : null),
      ),
    );
  };

  const isOpen = () => !menu.hidden;
  const open = (focusIndex = 0) => {
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    const list = items();
    list[(focusIndex + list.length) % list.length]?.focus();
    document.addEventListener('pointerdown', onOutside, true);
  };
  const close = ({ restoreFocus = true } = {}) => {
    if (!isOpen()) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (restoreFocus) button.focus();
  };
  const onOutside = (event) => {
    if (!node.contains(event.target)) close({ restoreFocus: false });
  };

  button.addEventListener('click', () => (isOpen() ? close() : open()));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
      event.preventDefault();
      open(event.key === 'ArrowUp' ? -1 : 0);
    }
  });
  menu.addEventListener('keydown', (event) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    switch (event.key) {
      case 'Escape':
        event.preventDefault();
        event.stopPropagation();
        close();
        break;
      case 'ArrowDown':
        event.preventDefault();
        list[(at + 1) % list.length]?.focus();
        break;
      case 'ArrowUp':
        event.preventDefault();
        list[(at - 1 + list.length) % list.length]?.focus();
        break;
      case 'Home':
        event.preventDefault();
        list[0]?.focus();
        break;
      case 'End':
        event.preventDefault();
        list[list.length - 1]?.focus();
        break;
      case 'Tab':
        close({ restoreFocus: false });
        break;
      default:
        break;
    }
  });
  menu.addEventListener('focusout', (event) => {
    if (isOpen() && !node.contains(event.relatedTarget)) close({ restoreFocus: false });
  });
  consoleItem.addEventListener('click', () => {
    close({ restoreFocus: false });
    onConsole?.();
  });
  logout.addEventListener('click', () => {
    close({ restoreFocus: false });
    onLogout();
  });

  setUser(user);
  return { node, setUser, close };
}
