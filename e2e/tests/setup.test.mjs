// First run: with no user yet, the browser shows the setup page, guarded by
// the one-time code the server prints in its log.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, waitForView, strongPassword,
} from '../lib/harness.mjs';

test('the first admin is created on the setup page with the code from the log', async () => {
  const server = await startServer();
  const [, code] = await server.waitForLog(/setup_code=([A-Z0-9-]+)/);
  const browser = await launchBrowser();
  const page = await newPage(browser);

  await page.goto(server.url);
  await waitForView(page, 'setup');
  const codeInput = page.getByLabel('Setup code', { exact: true });
  await codeInput.fill('WRNG-CODE-XXXX');
  await page.getByLabel('Username', { exact: true }).fill('root');
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.getByRole('alert').filter({ hasText: /setup code/i }).waitFor();
  assert.equal(await page.locator('#app').getAttribute('data-view'), 'setup');

  await codeInput.fill(code);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await waitForView(page, 'shell');
  const account = page.getByRole('navigation', { name: 'Sidebar' }).getByRole('button', { name: 'root', exact: true });
  await account.click();
  await page.getByRole('menu').getByText('Administrator').waitFor();

  // Setup is a one-time thing: a second visitor gets the login form.
  const other = await newPage(browser);
  await other.goto(server.url);
  await waitForView(other, 'login');

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
