const { hookTrigger } = require('./hook');

const contactSample = {
  id: 'ct_0123456789abcdefghij',
  email: 'ada@example.com',
  phone: '+14155550123',
  name: 'Ada Lovelace',
  source: 'widget',
  opted_out: false,
  created_at: '2026-12-01T10:00:00Z',
  updated_at: '2026-12-01T10:00:00Z',
};

module.exports = [
  hookTrigger({
    key: 'new_contact',
    noun: 'Contact',
    event: 'contact.created',
    label: 'New Contact',
    description: 'Triggers when a contact is created in Parley (API, widget or SMS).',
    sample: contactSample,
  }),
  hookTrigger({
    key: 'new_ticket',
    noun: 'Ticket',
    event: 'ticket.created',
    label: 'New Ticket',
    description: 'Triggers when a support ticket is created.',
    sample: {
      id: 'tk_0123456789abcdefghij',
      subject: 'Where is my order?',
      body: 'Ordered last week.',
      status: 'open',
      priority: 'normal',
      contact: contactSample.id,
      source: 'widget',
      created_at: '2026-12-01T10:00:00Z',
      updated_at: '2026-12-01T10:00:00Z',
    },
  }),
  hookTrigger({
    key: 'new_message',
    noun: 'Message',
    event: 'message.created',
    label: 'New Message',
    description: 'Triggers on every message in a conversation: visitors, the assistant and agents.',
    sample: {
      id: 'msg_0123456789abcdefghij',
      conversation: 'conv_0123456789abcdefghij',
      role: 'user',
      body: 'Do you ship abroad?',
      delivery_status: null,
      created_at: '2026-12-01T10:00:00Z',
    },
  }),
  hookTrigger({
    key: 'lead_captured',
    noun: 'Lead',
    event: 'lead.captured',
    label: 'Lead Captured',
    description: 'Triggers when a widget visitor leaves their email or phone.',
    sample: {
      ...contactSample,
      conversation: 'conv_0123456789abcdefghij',
      assistant: 'ast_0123456789abcdefghij',
      visitor_id: 'vis_0123456789abcdefghij',
    },
  }),
];
