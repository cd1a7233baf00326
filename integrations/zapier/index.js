const { version } = require('./package.json');
const { version: platformVersion } = require('zapier-platform-core');
const authentication = require('./authentication');
const { addApiKey, raiseParleyErrors } = require('./base');
const triggers = require('./triggers');
const creates = require('./creates');

const byKey = (items) => Object.fromEntries(items.map((item) => [item.key, item]));

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [raiseParleyErrors],
  triggers: byKey(triggers),
  creates: byKey(creates),
};
