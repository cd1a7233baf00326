/* Parley's Zapier app, run with Zapier's own app tester against a live Parley server.
 *
 * tests/integrations/test_zapier.py starts the server, makes a key and a receiver, runs this
 * file with BASE_URL, API_KEY, TARGET_URL and OUT_FILE set, then checks what reached the
 * receiver and what revoking the key does. Run alone, it needs those variables too.
 */
const fs = require('fs');
const zapier = require('zapier-platform-core');
const App = require('../index');

const appTester = zapier.createAppTester(App);
zapier.tools.env.inject();

const authData = { api_key: process.env.API_KEY };
const out = {};

afterAll(() => {
  if (process.env.OUT_FILE) fs.writeFileSync(process.env.OUT_FILE, JSON.stringify(out));
});

describe('Parley for Zapier', () => {
  test('the connection test reads /api/v1/me', async () => {
    const me = await appTester(App.authentication.test, { authData });
    expect(me.key.kind).toBe('secret');
    expect(me.workspace.name).toBeTruthy();
    out.workspace = me.workspace;
  });

  test('a wrong key is refused with Parley\'s message', async () => {
    await expect(appTester(App.authentication.test, { authData: { api_key: 'wsk_live_wrong' } })).rejects.toThrow(
      'Invalid API key'
    );
  });

  test('subscribing a REST hook, then a new contact is created', async () => {
    const subscribeData = await appTester(App.triggers.new_contact.operation.performSubscribe, {
      authData,
      targetUrl: process.env.TARGET_URL,
    });
    expect(subscribeData.id).toMatch(/^hook_/);
    expect(subscribeData.secret).toMatch(/^whsec_/);
    out.subscription = subscribeData;

    const contact = await appTester(App.creates.create_contact.operation.perform, {
      authData,
      inputData: { email: 'zapier-ada@example.com', name: 'Ada from Zapier', phone: '' },
    });
    expect(contact.id).toMatch(/^ct_/);
    expect(contact.source).toBe('api');
    out.contact = contact;
  });

  test('samples come from /api/v1/events', async () => {
    const samples = await appTester(App.triggers.new_contact.operation.performList, { authData });
    expect(samples.map((c) => c.id)).toContain(out.contact.id);
  });

  test('a delivery becomes the object itself', async () => {
    const delivery = { id: 'evt_x', type: 'contact.created', created_at: '2026-12-01T10:00:00Z', data: out.contact };
    const results = await appTester(App.triggers.new_contact.operation.perform, { authData, cleanedRequest: delivery });
    expect(results).toEqual([out.contact]);
  });

  test('unsubscribing deletes the hook', async () => {
    const other = await appTester(App.triggers.new_ticket.operation.performSubscribe, {
      authData,
      targetUrl: process.env.TARGET_URL,
    });
    await appTester(App.triggers.new_ticket.operation.performUnsubscribe, { authData, subscribeData: other });
    out.unsubscribed = other.id;
  });

  test('tickets and agent replies are created; Parley\'s validation errors reach the user', async () => {
    const ticket = await appTester(App.creates.create_ticket.operation.perform, {
      authData,
      inputData: { subject: 'From a Zap', priority: 'high', contact: out.contact.id },
    });
    expect(ticket.status).toBe('open');
    expect(ticket.contact).toBe(out.contact.id);
    await expect(
      appTester(App.creates.create_contact.operation.perform, { authData, inputData: { name: 'No address' } })
    ).rejects.toThrow('Give an email or a phone');
  });
});
