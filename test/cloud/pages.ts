// HTML for the login and consent pages: what a person sees in `npm run demo`, and what the
// browser tests fill in (inputs name="login"/"password", buttons #submit, #allow, #deny).

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Confirm your identity',
  email: 'See your email address',
  profile: 'See your name',
  offline_access: 'Stay signed in (refresh token)',
  'mcp:read': 'Read your projects through MCP',
  'mcp:write': 'Change your projects through MCP',
  'mcp:admin': 'Administer your projects through MCP',
};

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Appwrite Cloud (local)</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; background: #f4f4f7; color: #19191c; margin: 0; }
  main { max-width: 380px; margin: 12vh auto; background: #fff; border-radius: 10px; padding: 28px 32px;
         box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  h1 { font-size: 20px; margin: 0 0 4px; } p.sub { color: #6c6c71; margin: 0 0 20px; }
  label { display: block; font-weight: 600; margin: 12px 0 4px; }
  input { width: 100%; box-sizing: border-box; padding: 8px 10px; border: 1px solid #d8d8db; border-radius: 6px; font: inherit; }
  button { font: inherit; padding: 8px 16px; border-radius: 6px; border: 1px solid #fd366e; cursor: pointer; }
  .primary { background: #fd366e; color: #fff; } .secondary { background: #fff; color: #fd366e; }
  .actions { display: flex; gap: 8px; margin-top: 20px; }
  .error { background: #fff0f3; color: #b3123f; border-radius: 6px; padding: 8px 10px; }
  ul { padding-left: 20px; } code { font-size: 13px; }
</style></head>
<body><main>${body}</main></body></html>`;
}

export function loginPage(action: string, clientName: string, error?: string, login = ''): string {
  return layout('Sign in', `
<h1>Sign in to Appwrite</h1>
<p class="sub">to continue to <strong>${escape(clientName)}</strong></p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="${escape(action)}" autocomplete="off">
  <label for="login">Email</label>
  <input id="login" name="login" type="email" value="${escape(login)}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <div class="actions"><button id="submit" class="primary" type="submit">Sign in</button></div>
</form>`);
}

export function consentPage(
  allowAction: string, denyAction: string, clientName: string, scopes: string[], resources: string[],
): string {
  const items = scopes.map((s) => `<li>${escape(SCOPE_TEXT[s] ?? s)} <code>${escape(s)}</code></li>`).join('');
  const audience = resources.map((r) => `<code>${escape(r)}</code>`).join(', ');
  return layout('Authorize', `
<h1>Authorize ${escape(clientName)}</h1>
<p class="sub">${escape(clientName)} is asking to:</p>
<ul id="scopes">${items}</ul>
${audience ? `<p>Access will be limited to ${audience}.</p>` : ''}
<div class="actions">
  <form method="post" action="${escape(allowAction)}"><button id="allow" class="primary" type="submit">Allow</button></form>
  <form method="post" action="${escape(denyAction)}"><button id="deny" class="secondary" type="submit">Deny</button></form>
</div>`);
}

/** oidc-provider's error page (an unknown client, a bad redirect_uri: nothing to redirect to). */
export function errorPage(error: string, description?: string): string {
  return layout('Sign-in error', `<h1>Sign-in error</h1>
<p class="error" role="alert"><code>${escape(error)}</code>${description ? ` ${escape(description)}` : ''}</p>
<p class="sub">Close this tab and start the sign-in again from your application.</p>`);
}

// The device authorization grant's pages (RFC 8628 §3.3): oidc-provider hands over its forms (with
// their xsrf field); these pages wrap them. The browser tests fill in input name="user_code" and
// click #continue, then #confirm (or #abort); the last page's `#result` heading says how it went.

/** Where the user types the code shown by the device (also after a wrong, expired or used code). */
export function deviceCodePage(form: string, problem?: string): string {
  return layout('Connect a device', `
<h1>Connect a device</h1>
<p class="sub">Enter the code shown by the application you are signing in to.</p>
${problem ? `<p class="error" role="alert" id="problem">${escape(problem)}</p>` : ''}
${form}
<div class="actions"><button id="continue" class="primary" type="submit" form="op.deviceInputForm">Continue</button></div>`);
}

/** The code, for the user to compare with the one the device shows, before anything is granted. */
export function deviceConfirmPage(form: string, clientName: string, userCode: string): string {
  return layout('Confirm the code', `
<h1>Is this the code on your device?</h1>
<p class="sub"><strong>${escape(clientName)}</strong> shows this code:</p>
<p><code id="user-code" style="font-size: 24px">${escape(userCode)}</code></p>
<p class="sub">If it does not match, or you did not start this sign-in, cancel.</p>
${form}
<div class="actions">
  <button id="confirm" class="primary" type="submit" form="op.deviceConfirmForm">Continue</button>
  <button id="abort" class="secondary" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>
</div>`);
}

/** The end of the device sign-in in the browser: the device picks the tokens up by itself. */
export function deviceDonePage(ok: boolean, message: string): string {
  return layout(ok ? 'Device connected' : 'Sign-in cancelled', `
<h1 id="result" data-ok="${ok}">${ok ? 'Device connected' : 'Sign-in cancelled'}</h1>
<p class="sub">${escape(message)}</p>`);
}
