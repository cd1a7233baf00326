// A real OpenID Connect provider (panva's certified oidc-provider) on loopback,
// for Parley's end-to-end login tests. Started by tests/oidc_provider/provider.py.
//
// Configuration (environment):
//   OIDC_PORT            port to listen on (127.0.0.1 only)
//   OIDC_CLIENT_ID       the one static client's id
//   OIDC_CLIENT_SECRET   its secret (client_secret_basic or client_secret_post)
//   OIDC_REDIRECT_URI    redirect URI(s), comma-separated
//   OIDC_ACCOUNTS        JSON: {"<login>": {"email": "...", "email_verified": true}}
//
// Logins go through devInteractions (any login + any password). Consent is
// granted automatically for openid/email, so a login needs only the login form.
// Prints "READY" on stdout once listening; exits on SIGTERM/SIGINT.
import crypto from 'node:crypto';
import process from 'node:process';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(required('OIDC_PORT'), 10);
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = required('OIDC_REDIRECT_URI')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `parley-test-${crypto.randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

function claimsFor(login) {
  const entry = accounts[login];
  if (entry && typeof entry === 'object') {
    return {
      email: entry.email ?? `${login}@example.test`,
      email_verified: entry.email_verified === true,
    };
  }
  return { email: `${login}@example.test`, email_verified: false };
}

const ALWAYS_GRANTED_SCOPE = 'openid email';
const ALWAYS_GRANTED_CLAIMS = ['sub', 'email', 'email_verified'];

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // client_secret_post is accepted as well for a client registered with
      // client_secret_basic (oidc-provider 9 treats the two as equivalent).
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingJwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
  },
  // Put the scope's claims (email, email_verified) into the id_token too, not
  // only into the userinfo response.
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, ...claimsFor(sub) };
      },
    };
  },
  // Skip the consent screen: the first time a client asks, grant openid/email.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) {
        return existing;
      }
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ALWAYS_GRANTED_SCOPE);
    grant.addOIDCClaims(ALWAYS_GRANTED_CLAIMS);
    await grant.save();
    return grant;
  },
  cookies: {
    keys: [crypto.randomBytes(32).toString('hex')],
    // Distinct names: cookie jars do not separate ports, and the app under test
    // runs on 127.0.0.1 as well.
    names: {
      session: 'op_session',
      interaction: 'op_interaction',
      resume: 'op_interaction_resume',
    },
  },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: false },
  },
  // PKCE (S256) is optional for this confidential client and verified when sent.
  pkce: {
    required: () => false,
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
  renderError(ctx, out, _error) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>oidc error</title><pre id="oidc-error">${
      Object.entries(out)
        .map(([key, value]) => `${key}: ${String(value).replace(/[<>&]/g, '')}`)
        .join('\n')
    }</pre>`;
  },
};

const provider = new Provider(issuer, configuration);

provider.on('server_error', (_ctx, err) => {
  console.error('oidc-provider server_error:', err);
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write('READY\n');
});

function shutdown() {
  server.close(() => process.exit(0));
  // Keep-alive connections may hold close() open; do not wait for them.
  setTimeout(() => process.exit(0), 500).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
