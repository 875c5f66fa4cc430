// new-message-dialog.js starts a direct message (one person) or a group
// message (up to seven others): POST /dms gives back the room, new or not.
import * as api from './api.js';
import { openDialog } from './dialog.js';
import { userPicker } from './user-picker.js';

/** newMessageDialog opens the dialog; onOpened(channel) runs with the DM. */
export function newMessageDialog({ state, onOpened }) {
  const picker = userPicker({ state, max: 7, label: 'To' });
  const d = openDialog({
    title: 'New message',
    description: 'Message one person, or up to seven people at once.',
    content: [picker.node],
    submitLabel: 'Go',
    onSubmit: async () => {
      const ids = picker.selected();
      if (!ids.length) throw new Error('Choose at least one person.');
      const channel = await api.openDM(ids);
      onOpened(channel);
    },
  });
  picker.focus();
  return d;
}
