// add-people-dialog.js adds people to a private room.
import * as api from './api.js';
import { openDialog } from './dialog.js';
import { userPicker } from './user-picker.js';

/** addPeopleDialog opens the dialog for a room; exclude holds current members; onAdded(ids) runs after success. */
export function addPeopleDialog({ state, channel, exclude, onAdded }) {
  const picker = userPicker({ state, max: 20, exclude, label: 'People to add' });
  const d = openDialog({
    title: `Add people to ${state.roomName(channel)}`,
    content: [picker.node],
    submitLabel: 'Add',
    onSubmit: async () => {
      const ids = picker.selected();
      if (!ids.length) throw new Error('Choose at least one person.');
      for (const id of ids) await api.addChannelMember(channel.id, id);
      onAdded(ids);
    },
  });
  picker.focus();
  return d;
}
