// Vouch for a signed-in visitor of your site to Parley's widget (identity verification).
// Node's built-in crypto only, no npm packages. Run it on YOUR server, never in the browser.
//
//   node docs/examples/widget_identity.mjs <identity_secret> <user_id>
//
// prints {"user_token", "user_id", "user_hash"}. Put one of the two ways into the page:
//   <script src="https://HOST/static/widget/parley-widget.js" data-assistant="ast_…"
//           data-user-token="USER_TOKEN" async></script>                  (recommended)
//   <script … data-user-id="USER_ID" data-user-hash="USER_HASH" async></script>  (older)
//
// The secret is the string POST /api/assistants/{id}/identity-secret showed once; the key
// of the HMAC and of the JWT is that string's UTF-8 bytes.
import { createHmac } from "node:crypto";
import { pathToFileURL } from "node:url";

const TOKEN_LIFETIME = 10 * 60; // seconds: a fresh token with every page that embeds the widget

const base64url = (data) => Buffer.from(data).toString("base64url");

// An HS256 JWT with sub (your user's id) and exp: the way to prefer.
export function userToken(secret, userId) {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify({ sub: userId, exp: Math.floor(Date.now() / 1000) + TOKEN_LIFETIME }));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

// hex(HMAC-SHA256(secret, user_id)): the older way (the hash never expires).
export function userHash(secret, userId) {
  return createHmac("sha256", secret).update(userId).digest("hex");
}

// Run as a command (importing the module only defines the two functions).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [secret, userId] = process.argv.slice(2);
  if (process.argv.length !== 4 || !secret || !userId) {
    console.error("usage: node widget_identity.mjs <identity_secret> <user_id>");
    process.exit(2);
  }
  console.log(JSON.stringify({ user_token: userToken(secret, userId), user_id: userId, user_hash: userHash(secret, userId) }));
}
