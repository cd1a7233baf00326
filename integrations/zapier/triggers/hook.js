// A REST-hook trigger on one Parley event type: Zapier subscribes a target URL through
// /api/v1/hooks, Parley POSTs each event there (signed the Standard Webhooks way), and
// /api/v1/events gives samples while a Zap is being built.
const { baseUrl } = require('../base');

const hookTrigger = ({ key, noun, event, label, description, sample }) => ({
  key,
  noun,
  display: { label, description },
  operation: {
    type: 'hook',
    performSubscribe: (z, bundle) =>
      z
        .request({
          url: `${baseUrl()}/api/v1/hooks`,
          method: 'POST',
          body: { target_url: bundle.targetUrl, event },
        })
        .then((response) => response.data),
    performUnsubscribe: (z, bundle) =>
      z
        .request({ url: `${baseUrl()}/api/v1/hooks/${bundle.subscribeData.id}`, method: 'DELETE' })
        .then(() => ({})),
    // A delivery is {"id", "type", "created_at", "data"}: the Zap gets the object itself.
    perform: (z, bundle) => [bundle.cleanedRequest.data],
    performList: (z, bundle) =>
      z
        .request({ url: `${baseUrl()}/api/v1/events`, params: { type: event, limit: 10 } })
        .then((response) => response.data.results.map((delivery) => delivery.data)),
    sample,
  },
});

module.exports = { hookTrigger };
