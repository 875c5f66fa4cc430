// The rest of the chat UI against a real server: creating teams and
// channels, files with an upload bar, slash commands, typing, editing and
// deleting, search, members, archiving and being removed from a room.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, login, screenshot, strongPassword,
} from '../lib/harness.mjs';
import { apiAs } from '../lib/api.mjs';

const sidebarOf = (page) => page.getByRole('navigation', { name: 'Sidebar' });
const roomLog = (page) => page.getByRole('log', { name: /^Messages in / });
const postIn = (scope, text) => scope.locator('article.post').filter({ hasText: text });
const composerOf = (page) => page.getByRole('textbox', { name: /^Write to/ });

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

test('teams, channels, files, commands, typing, edits, search, members and archiving', async () => {
  const alicePassword = strongPassword();
  const bobPassword = strongPassword();
  const server = await startServer({
    users: [
      { username: 'alice', password: alicePassword, admin: true },
      { username: 'bob', password: bobPassword },
    ],
  });
  const alice = await apiAs(server.url, 'alice', alicePassword);
  const bob = await apiAs(server.url, 'bob', bobPassword);

  const browser = await launchBrowser();
  const pa = await newPage(browser);
  const pb = await newPage(browser);
  await login(pa, server.url, 'alice', alicePassword);

  // Alice creates a team in the UI; its town-square opens.
  await sidebarOf(pa).getByRole('button', { name: 'Create a team' }).click();
  const teamDialog = pa.getByRole('dialog', { name: 'Create a team' });
  await teamDialog.getByLabel('Team name').fill('Design Crew');
  assert.equal(await teamDialog.getByLabel('URL name').inputValue(), 'design-crew');
  await teamDialog.getByRole('button', { name: 'Create team' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Town Square' }).waitFor();
  const team = (await alice.call('GET', '/teams')).teams.find((t) => t.name === 'design-crew');
  await alice.call('POST', `/teams/${team.id}/members`, { user_id: bob.user.id });

  // ... and a private channel, which opens with a lock.
  await sidebarOf(pa).getByRole('button', { name: 'Create channel' }).click();
  const channelDialog = pa.getByRole('dialog', { name: 'Create a channel' });
  await channelDialog.getByLabel('Name', { exact: true }).fill('Secret Plans');
  await channelDialog.getByText('Private channel').click();
  await channelDialog.getByRole('button', { name: 'Create channel' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Secret Plans' }).waitFor();
  const secret = (await alice.call('GET', '/channels')).channels.find((c) => c.name === 'secret-plans');
  assert.equal(secret.type, 'private');

  // She adds bob from the members panel.
  await pa.getByRole('button', { name: /^Members/ }).click();
  const members = pa.getByRole('complementary', { name: 'Members' });
  await members.getByRole('button', { name: 'Add people' }).click();
  const addDialog = pa.getByRole('dialog', { name: /^Add people/ });
  await addDialog.getByRole('checkbox', { name: 'bob' }).check();
  await addDialog.getByRole('button', { name: 'Add' }).click();
  await members.getByText('@bob').waitFor();
  await pa.getByRole('button', { name: 'Members: 2' }).waitFor();

  await login(pb, server.url, 'bob', bobPassword);
  await sidebarOf(pb).locator(`a[data-channel-id="${secret.id}"]`).click();
  await roomLog(pb).waitFor();

  // Typing shows at the other end.
  await composerOf(pb).pressSequentially('thinking', { delay: 30 });
  await pa.getByText('bob is typing…').waitFor();
  await composerOf(pb).fill('');

  // A file goes up with a progress bar, then posts with the message as an image preview.
  await pa.locator('.composer input[type="file"]').setInputFiles({ name: 'mockup.png', mimeType: 'image/png', buffer: PNG });
  await pa.locator('.upload.is-done').waitFor();
  await composerOf(pa).fill('first mockup');
  await composerOf(pa).press('Enter');
  await postIn(roomLog(pb), 'first mockup').locator('img[alt="mockup.png"]').waitFor();
  await pa.locator('.composer input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await pa.locator('.upload.is-done').waitFor();
  await composerOf(pa).press('Enter');
  const card = roomLog(pb).locator('a.file-card').filter({ hasText: 'notes.txt' });
  await card.waitFor();
  assert.match(await card.textContent(), /5 B/);

  // Slash commands: /shrug posts for everyone, /help answers only here.
  await composerOf(pa).fill('/shrug');
  await composerOf(pa).press('Enter');
  await postIn(roomLog(pb), '¯\\_(ツ)_/¯').waitFor();
  await composerOf(pa).fill('/help');
  await composerOf(pa).press('Enter');
  await roomLog(pa).locator('article.post-ephemeral').filter({ hasText: 'Only visible to you' }).waitFor();
  assert.equal(await roomLog(pb).locator('article.post-ephemeral').count(), 0);

  // Bob edits and deletes his own message; alice sees both live.
  await composerOf(pb).fill('lunch at 12?');
  await composerOf(pb).press('Enter');
  const bobsPost = postIn(roomLog(pb), 'lunch at 12?');
  await bobsPost.hover();
  await bobsPost.getByRole('button', { name: 'Edit' }).click();
  const edit = roomLog(pb).getByRole('textbox', { name: 'Edit message' });
  await edit.fill('lunch at 12:30?');
  await edit.press('Enter');
  await postIn(roomLog(pa), 'lunch at 12:30?').getByText('(edited)').waitFor();
  const edited = postIn(roomLog(pb), 'lunch at 12:30?');
  await edited.hover();
  await edited.getByRole('button', { name: 'Delete' }).click();
  await pb.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Delete' }).click();
  await postIn(roomLog(pa), 'lunch at 12:30?').waitFor({ state: 'detached' });

  // Search finds a message in another room and opens it.
  const town = (await alice.call('GET', '/channels')).channels.find((c) => c.team_id === team.id && c.name === 'town-square');
  await alice.call('POST', `/channels/${town.id}/posts`, { message: 'the quarterly roadmap is ready' });
  await pb.getByRole('searchbox', { name: 'Search messages' }).fill('roadmap');
  await pb.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  const results = pb.getByRole('complementary', { name: 'Search results' });
  await results.getByText('1 result').waitFor();
  await screenshot(pb, 'search');
  await results.getByRole('button', { name: /quarterly roadmap/ }).click();
  await pb.waitForURL((url) => url.pathname === `/channels/${town.id}`);
  await postIn(roomLog(pb), 'quarterly roadmap').waitFor();

  // Archiving makes the room read-only for everyone at once.
  await alice.call('POST', `/channels/${secret.id}/archive`);
  await pa.getByText(/archived room/).waitFor();
  assert.equal(await composerOf(pa).count(), 0, 'no composer in an archived room');
  await alice.call('POST', `/channels/${secret.id}/unarchive`);
  await composerOf(pa).waitFor();

  // Removed from a private room, bob no longer sees it.
  await sidebarOf(pb).locator(`a[data-channel-id="${secret.id}"]`).click();
  await roomLog(pb).waitFor();
  await alice.call('DELETE', `/channels/${secret.id}/members/${bob.user.id}`);
  await sidebarOf(pb).locator(`a[data-channel-id="${secret.id}"]`).waitFor({ state: 'detached' });
  await pb.getByText(/You were removed from Secret Plans/).waitFor();
  assert.notEqual(new URL(pb.url()).pathname, `/channels/${secret.id}`);

  assert.deepEqual(pa.problems, [], 'no page errors or CSP violations for alice');
  assert.deepEqual(pb.problems, [], 'no page errors or CSP violations for bob');
});

test('scrolling up loads older messages, a page at a time', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'dave', password, admin: true }] });
  const dave = await apiAs(server.url, 'dave', password);
  const team = await dave.call('POST', '/teams', { name: 'history', display_name: 'History' });
  const town = (await dave.call('GET', '/channels')).channels.find((c) => c.team_id === team.id);
  // 120 posts: more than two pages of 50. Posting is rate limited, so wait when told.
  for (let i = 1; i <= 120; i += 1) {
    for (;;) {
      try {
        await dave.call('POST', `/channels/${town.id}/posts`, { message: `message number ${i}` });
        break;
      } catch (err) {
        if (!/ 429 /.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  const browser = await launchBrowser();
  const page = await newPage(browser);
  await login(page, server.url, 'dave', password);
  const log = roomLog(page);
  await postIn(log, 'message number 120').waitFor();
  assert.equal(await postIn(log, /message number 1$/).count(), 0, 'the first page holds only the newest posts');

  // Scroll to the top until the room's first message and its welcome show.
  for (let i = 0; i < 10 && !(await page.getByRole('heading', { name: 'Welcome to Town Square' }).isVisible()); i += 1) {
    await log.evaluate((node) => { node.scrollTop = 0; });
    await page.waitForTimeout(300);
  }
  await page.getByRole('heading', { name: 'Welcome to Town Square' }).waitFor();
  assert.equal(await log.locator('article.post').count(), 120);
  const texts = await log.locator('article.post .post-body').allTextContents();
  assert.deepEqual(texts.map((t) => Number(t.match(/\d+/)[0])), Array.from({ length: 120 }, (_, i) => i + 1), 'in order, none twice');

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('room settings menu, discussions, members and team people, all from the UI', async () => {
  const alicePassword = strongPassword();
  const bobPassword = strongPassword();
  const carolPassword = strongPassword();
  const server = await startServer({
    users: [
      { username: 'alice', password: alicePassword, admin: true },
      { username: 'bob', password: bobPassword },
      { username: 'carol', password: carolPassword },
    ],
  });
  const alice = await apiAs(server.url, 'alice', alicePassword);
  const bob = await apiAs(server.url, 'bob', bobPassword);
  const carol = await apiAs(server.url, 'carol', carolPassword);
  const team = await alice.call('POST', '/teams', { name: 'ops', display_name: 'Ops' });
  await alice.call('POST', `/teams/${team.id}/members`, { user_id: bob.user.id });
  const war = await alice.call('POST', '/channels', { team_id: team.id, name: 'war-room', display_name: 'War Room', type: 'private' });
  await alice.call('POST', `/channels/${war.id}/members`, { user_id: bob.user.id });
  const teamPeople = async () => (await alice.call('GET', `/teams/${team.id}/members`)).members.map((u) => u.username).sort();

  const browser = await launchBrowser();
  const pa = await newPage(browser);
  const pb = await newPage(browser);
  await login(pa, server.url, 'alice', alicePassword);
  await login(pb, server.url, 'bob', bobPassword);
  const roomLink = (page, id) => sidebarOf(page).locator(`a[data-channel-id="${id}"]`);
  const menu = async (page, item) => {
    await page.getByRole('button', { name: 'Room settings' }).click();
    await page.getByRole('menu', { name: 'Room settings' }).getByRole('menuitem', { name: item }).click();
  };

  // The team admin adds carol to the team from the rail's "Team members", then removes her.
  await sidebarOf(pa).getByRole('button', { name: 'Team members' }).click();
  let people = pa.getByRole('dialog', { name: 'People in Ops' });
  await people.getByText('2 members').waitFor();
  await people.getByRole('checkbox', { name: 'carol' }).check();
  await people.getByRole('button', { name: 'Add to team' }).click();
  await people.waitFor({ state: 'detached' });
  assert.deepEqual(await teamPeople(), ['alice', 'bob', 'carol']);
  assert.ok((await carol.call('GET', '/teams')).teams.some((t) => t.id === team.id), 'carol is in the team');
  await sidebarOf(pa).getByRole('button', { name: 'Team members' }).click();
  people = pa.getByRole('dialog', { name: 'People in Ops' });
  await people.getByRole('button', { name: 'Remove carol from the team' }).click();
  await people.getByText('2 members').waitFor();
  assert.deepEqual(await teamPeople(), ['alice', 'bob']);
  await people.getByRole('button', { name: 'Close', exact: true }).first().click();
  // bob, a plain member, sees the list but may only leave, not remove others.
  await sidebarOf(pb).getByRole('button', { name: 'Team members' }).click();
  const bobPeople = pb.getByRole('dialog', { name: 'People in Ops' });
  await bobPeople.getByText('2 members').waitFor();
  assert.equal(await bobPeople.getByRole('button', { name: /^Remove / }).count(), 0);
  await bobPeople.getByRole('button', { name: 'Leave team' }).waitFor();
  await bobPeople.getByRole('button', { name: 'Close', exact: true }).first().click();

  // Both open the room; alice renames it and sets its header and purpose; bob sees it live.
  await roomLink(pa, war.id).click();
  await roomLink(pb, war.id).click();
  await roomLog(pb).waitFor();
  await menu(pa, 'Rename…');
  const rename = pa.getByRole('dialog', { name: 'Rename War Room' });
  await rename.getByLabel('Display name').fill('Situation Room');
  await rename.getByRole('button', { name: 'Rename' }).click();
  await pa.getByRole('heading', { level: 1, name: 'Situation Room' }).waitFor();
  await pb.getByRole('heading', { level: 1, name: 'Situation Room' }).waitFor();
  await roomLink(pb, war.id).filter({ hasText: 'Situation Room' }).waitFor();
  await menu(pa, 'Edit header and purpose…');
  const header = pa.getByRole('dialog', { name: /^Header and purpose/ });
  await header.getByLabel('Header').fill('Status: all green');
  await header.getByLabel('Purpose').fill('Incidents and outages');
  await header.getByRole('button', { name: 'Save' }).click();
  await pb.locator('.room-topic').filter({ hasText: 'Status: all green' }).waitFor();
  assert.equal((await bob.call('GET', `/channels/${war.id}`)).purpose, 'Incidents and outages');

  // bob may not manage alice's room: his menu has no rename, archive or delete.
  await pb.getByRole('button', { name: 'Room settings' }).click();
  const bobMenu = pb.getByRole('menu', { name: 'Room settings' });
  await bobMenu.getByRole('menuitem', { name: 'Edit header and purpose…' }).waitFor();
  for (const item of ['Rename…', 'Archive room', 'Delete room…']) {
    assert.equal(await bobMenu.getByRole('menuitem', { name: item }).count(), 0, `bob has no "${item}"`);
  }
  await pb.keyboard.press('Escape');

  // A discussion from a message: it opens, takes a post, and sits under its parent for both.
  await composerOf(pa).fill('db1 is out of disk');
  await composerOf(pa).press('Enter');
  const root = postIn(roomLog(pa), 'db1 is out of disk');
  await root.hover();
  await root.getByRole('button', { name: 'Start a discussion' }).click();
  const start = pa.getByRole('dialog', { name: 'Start a discussion from this message' });
  assert.equal(await start.getByLabel('Discussion name').inputValue(), 'db1 is out of disk');
  await start.getByLabel('Discussion name').fill('db1 disk');
  await start.getByRole('checkbox', { name: 'bob' }).check();
  await start.getByRole('button', { name: 'Start discussion' }).click();
  await pa.getByRole('heading', { level: 1, name: 'db1 disk' }).waitFor();
  await composerOf(pa).fill('rotating the logs now');
  await composerOf(pa).press('Enter');
  const discussions = (await alice.call('GET', `/channels/${war.id}/discussions`)).channels;
  assert.equal(discussions.length, 1);
  assert.equal(discussions[0].display_name, 'db1 disk');
  const root0 = (await alice.call('GET', `/channels/${war.id}/posts`)).posts.find((p) => p.message === 'db1 is out of disk');
  assert.equal(discussions[0].parent_post_id, root0.id);
  const nested = (page) => sidebarOf(page).getByRole('list', { name: 'Discussions in Situation Room' }).getByRole('link', { name: 'db1 disk' });
  await nested(pa).waitFor();
  await nested(pb).click();
  await postIn(roomLog(pb), 'rotating the logs now').waitFor();

  // Archive from the menu: read-only for both at once; unarchive gives the composer back.
  await roomLink(pa, war.id).click();
  await roomLink(pb, war.id).click();
  await composerOf(pb).waitFor();
  await menu(pa, 'Archive room');
  await pa.getByText(/archived room/).waitFor();
  await pb.getByText(/archived room/).waitFor();
  assert.equal(await composerOf(pa).count(), 0, 'no composer for alice in an archived room');
  assert.equal(await composerOf(pb).count(), 0, 'no composer for bob in an archived room');
  await menu(pa, 'Unarchive room');
  await composerOf(pa).waitFor();
  await composerOf(pb).waitFor();

  // Remove bob from the members panel: his sidebar drops the room at once.
  await pa.getByRole('button', { name: /^Members/ }).click();
  const members = pa.getByRole('complementary', { name: 'Members' });
  assert.equal(await members.getByRole('button', { name: 'Remove alice' }).count(), 0, 'no Remove on yourself');
  await members.getByRole('button', { name: 'Remove bob' }).click();
  await roomLink(pb, war.id).waitFor({ state: 'detached' });
  await pb.getByText(/You were removed from Situation Room/).waitFor();
  await members.getByText('1 member').waitFor();

  // bob leaves a public channel from its menu.
  const lobby = await alice.call('POST', '/channels', { team_id: team.id, name: 'lobby', display_name: 'Lobby', type: 'public' });
  await bob.call('POST', `/channels/${lobby.id}/join`);
  await roomLink(pb, lobby.id).click();
  await roomLog(pb).waitFor();
  await menu(pb, 'Leave room');
  await roomLink(pb, lobby.id).waitFor({ state: 'detached' });
  await pb.getByText(/You left Lobby/).waitFor();
  assert.ok(!(await bob.call('GET', `/channels/${lobby.id}`)).member, 'bob is no longer a member of Lobby');

  // Delete, after a confirm dialog: gone for bob live, and 404 from then on.
  await bob.call('POST', `/channels/${lobby.id}/join`);
  await roomLink(pb, lobby.id).click();
  await roomLog(pb).waitFor();
  await roomLink(pa, lobby.id).click();
  await menu(pa, 'Delete room…');
  const confirm = pa.getByRole('dialog', { name: 'Delete room' });
  await confirm.getByRole('button', { name: 'Delete room' }).click();
  await roomLink(pa, lobby.id).waitFor({ state: 'detached' });
  await roomLink(pb, lobby.id).waitFor({ state: 'detached' });
  await pb.getByText(/Lobby was deleted/).waitFor();
  await assert.rejects(bob.call('GET', `/channels/${lobby.id}`), / 404 /);

  assert.deepEqual(pa.problems, [], 'no page errors or CSP violations for alice');
  assert.deepEqual(pb.problems, [], 'no page errors or CSP violations for bob');
});

test('messages typed while one is on its way all go out, in order; a failed one comes back to the box', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'erin', password, admin: true }] });
  const erin = await apiAs(server.url, 'erin', password);
  const team = await erin.call('POST', '/teams', { name: 'fast', display_name: 'Fast' });
  const town = (await erin.call('GET', '/channels')).channels.find((c) => c.team_id === team.id);

  const browser = await launchBrowser();
  const page = await newPage(browser);
  await login(page, server.url, 'erin', password);
  const log = roomLog(page);
  await log.waitFor();

  // A slow network: every post and command takes 400 ms to leave.
  const slow = async (route) => {
    await new Promise((r) => setTimeout(r, 400));
    await route.continue();
  };
  await page.route('**/api/v1/channels/*/posts', slow);
  await page.route('**/api/v1/channels/*/commands', slow);
  const box = composerOf(page);
  const typed = ['quick one', 'quick two', '/shrug', 'quick three'];
  for (const text of typed) {
    await box.fill(text);
    await box.press('Enter');
    assert.equal(await box.inputValue(), '', `the box is empty for the next message right after "${text}"`);
  }
  await postIn(log, 'quick three').waitFor();
  await postIn(log, '¯\\_(ツ)_/¯').waitFor();
  const stored = (await erin.call('GET', `/channels/${town.id}/posts`)).posts
    .map((p) => p.message).filter((m) => /quick|shrug|ツ/.test(m));
  assert.equal(stored.length, 4, `every message stored once: ${JSON.stringify(stored)}`);
  const order = [...stored].reverse(); // the API lists newest first
  assert.deepEqual(order.map((m) => (m.includes('ツ') ? '/shrug' : m)), typed, 'in the order typed');

  // The network fails one send: the text is back in the box with the reason.
  await page.unroute('**/api/v1/channels/*/posts');
  await page.route('**/api/v1/channels/*/posts', (route) => route.fulfill({
    status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'The server is busy.', code: 'unavailable' }),
  }), { times: 1 });
  await box.fill('this one fails');
  await box.press('Enter');
  await page.getByRole('alert').filter({ hasText: 'Not sent: The server is busy.' }).waitFor();
  assert.equal(await box.inputValue(), 'this one fails', 'the failed message is back to send again');
  await box.press('Enter');
  await postIn(log, 'this one fails').waitFor();
  assert.equal(await box.inputValue(), '');
  assert.deepEqual(page.problems.filter((p) => !/status of 503/.test(p)), [], 'no page errors or CSP violations');
});
