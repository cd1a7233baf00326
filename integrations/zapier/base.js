// Where Parley runs. Set BASE_URL with `zapier-platform env:set 1.0.0 BASE_URL=https://parley.example.com`.
const baseUrl = () => (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');

// Every request carries the connected account's secret key as a Bearer token.
const addApiKey = (request, z, bundle) => {
  request.headers = request.headers || {};
  if (bundle.authData && bundle.authData.api_key) {
    request.headers.Authorization = `Bearer ${bundle.authData.api_key}`;
  }
  request.headers.Accept = 'application/json';
  return request;
};

// Parley's errors are {"error": {"code", "message", "hint"?}}: show them as Zapier errors.
const raiseParleyErrors = (response, z) => {
  if (response.status >= 400 && !response.skipThrowForStatus) {
    let error = {};
    try {
      error = JSON.parse(response.content).error || {};
    } catch (e) {
      error = {};
    }
    // Validation errors name each field: say which, so the Zap's author can fix the mapping.
    const fields = Object.entries(error.fields || {}).map(([name, problems]) => `${name}: ${[].concat(problems).join(' ')}`);
    const message = [error.message || `Parley answered ${response.status}`, ...fields, error.hint].filter(Boolean).join(' ');
    throw new z.errors.Error(message, error.code || 'parley_error', response.status);
  }
  return response;
};

module.exports = { baseUrl, addApiKey, raiseParleyErrors };
