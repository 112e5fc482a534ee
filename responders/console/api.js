// Requests to this responder's JSON, and the token the operator pastes (a JWT, sent as Bearer,
// or an API key, sent as ApiKey), kept in sessionStorage so it lasts as long as the tab.

const TOKEN_KEY = 'recstream.token';
/** Three base64url parts: a JWT; anything else pasted is an API key. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * The JSON body at `url`; a response that is not 2xx throws an Error carrying the body's
 * `error` as message, the HTTP `status` and the body's `code`.
 */
export async function getJson(url, init) {
  const res = await fetch(url, { cache: 'no-store', ...init });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const error = new Error(body?.error ?? `${res.status} ${res.statusText}`);
    error.status = res.status;
    error.code = body?.code;
    throw error;
  }
  return body;
}

/** The pasted token; null when signed out. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps `value` as the tab's token. */
export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

/** Signs the tab out. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The Authorization header for the pasted token; none when signed out. */
export function authHeaders() {
  const value = token();
  if (value === null) return {};
  return { authorization: `${JWT_SHAPE.test(value) ? 'Bearer' : 'ApiKey'} ${value}` };
}
