const { baseUrl } = require('../base');

const post = (z, path, body) =>
  z.request({ url: `${baseUrl()}${path}`, method: 'POST', body }).then((response) => response.data);

// Only what the user filled in is sent: Parley refuses unknown fields, and empty ones mean "not given".
const given = (inputData, keys) =>
  Object.fromEntries(keys.filter((k) => inputData[k] !== undefined && inputData[k] !== '').map((k) => [k, inputData[k]]));

module.exports = [
  {
    key: 'create_contact',
    noun: 'Contact',
    display: { label: 'Create Contact', description: 'Creates a contact (an email or a phone is required).' },
    operation: {
      inputFields: [
        { key: 'email', label: 'Email' },
        { key: 'phone', label: 'Phone', helpText: 'E.164, e.g. +14155550123.' },
        { key: 'name', label: 'Name' },
      ],
      perform: (z, bundle) => post(z, '/api/v1/contacts', given(bundle.inputData, ['email', 'phone', 'name'])),
      sample: { id: 'ct_0123456789abcdefghij', email: 'ada@example.com', name: 'Ada', source: 'api' },
    },
  },
  {
    key: 'create_ticket',
    noun: 'Ticket',
    display: { label: 'Create Ticket', description: 'Creates a support ticket.' },
    operation: {
      inputFields: [
        { key: 'subject', label: 'Subject', required: true },
        { key: 'body', label: 'Body', type: 'text' },
        { key: 'priority', label: 'Priority', choices: ['low', 'normal', 'high', 'urgent'] },
        { key: 'contact', label: 'Contact ID', helpText: 'A Parley contact id (ct_…).' },
      ],
      perform: (z, bundle) =>
        post(z, '/api/v1/tickets', given(bundle.inputData, ['subject', 'body', 'priority', 'contact'])),
      sample: { id: 'tk_0123456789abcdefghij', subject: 'Where is my order?', status: 'open', priority: 'normal' },
    },
  },
  {
    key: 'agent_reply',
    noun: 'Reply',
    display: {
      label: 'Send Agent Reply',
      description: "Replies in a conversation as a human agent (shown in the widget; texted on SMS).",
    },
    operation: {
      inputFields: [
        { key: 'conversation', label: 'Conversation ID', required: true, helpText: 'A Parley conversation id (conv_…).' },
        { key: 'body', label: 'Message', type: 'text', required: true },
      ],
      perform: (z, bundle) =>
        post(z, `/api/v1/conversations/${encodeURIComponent(bundle.inputData.conversation)}/messages`, {
          body: bundle.inputData.body,
        }),
      sample: { id: 'msg_0123456789abcdefghij', role: 'agent', body: 'On our way!', created_at: '2026-12-01T10:00:00Z' },
    },
  },
];
