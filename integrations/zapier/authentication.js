const { baseUrl } = require('./base');

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'api_key',
      label: 'Secret API key',
      type: 'password',
      required: true,
      helpText:
        'A secret key (`wsk_live_…`) made by an owner or admin in Parley under **Settings → API Keys**, with the scopes your Zaps need (`events:read` for triggers).',
    },
  ],
  // Parley answers /api/v1/me for any valid key: the connection test.
  test: (z) => z.request({ url: `${baseUrl()}/api/v1/me` }).then((response) => response.data),
  connectionLabel: (z, bundle) => `${bundle.inputData.workspace.name} (${bundle.inputData.key.hint})`,
};
