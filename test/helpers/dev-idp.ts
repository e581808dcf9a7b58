/**
 * The development identity provider (scripts/dev-idp.ts) for tests, and a browser stand-in that
 * signs a person in through it over real HTTP: redirects followed by hand, cookies kept per host
 * and path, the IdP's login form filled in.
 */
export { myNumberFrom, startDevIdp } from '../../scripts/dev-idp.ts';
export type { DevIdp, DevIdpAccount, DevIdpClient, DevIdpOptions } from '../../scripts/dev-idp.ts';

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
}

/** Cookies as a browser keeps them, enough for these flows: host-only, by path, session lifetime. */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  /** Keeps the Set-Cookie headers of a response to `url`. */
  store(url: URL, res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let cookiePath = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) cookiePath = v;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
      }
      const id = `${url.host} ${cookiePath} ${name}`;
      if (expired || value === '') this.cookies.delete(id);
      else this.cookies.set(id, { name, value, host: url.host, path: cookiePath });
    }
  }

  /** The Cookie header for a request to `url` (undefined when none). */
  header(url: URL): string | undefined {
    const matching = [...this.cookies.values()].filter(
      (c) => c.host === url.host && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
    );
    // Longer paths first, as browsers send them.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length > 0 ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Cookie names held for a host (for assertions). */
  names(host: string): string[] {
    return [...this.cookies.values()].filter((c) => c.host === host).map((c) => c.name);
  }
}

/** One request without following redirects; cookies sent from and stored into `jar`. */
export async function browserFetch(
  jar: CookieJar,
  url: URL,
  init: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/html' };
  const cookie = jar.header(url);
  if (cookie) headers['cookie'] = cookie;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
  jar.store(url, res);
  return res;
}

/** The action of the dev IdP's login form in a page, or undefined when the page has none. */
export function loginFormAction(html: string): string | undefined {
  const form = /<form[^>]*\bid="login-form"[^>]*>/.exec(html)?.[0];
  const action = form ? /\baction="([^"]*)"/.exec(form)?.[1] : undefined;
  return action === undefined ? undefined : unescapeHtml(action);
}

const unescapeHtml = (s: string): string =>
  s.replace(
    /&(amp|lt|gt|quot|#39|#x27);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e] ?? '',
  );

/**
 * A page of the IdP that a browser submits by script on load (oidc-provider's form post: e.g.
 * ending the session of another account before a new one signs in): its action and hidden fields.
 */
export function autoSubmitForm(html: string): { action: string; fields: Record<string, string> } | undefined {
  if (!html.includes('document.forms[0].submit()')) return undefined;
  const action = /<form[^>]*\baction="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\s*\/?>/g))
    fields[unescapeHtml(m[1] ?? '')] = unescapeHtml(m[2] ?? '');
  return { action: unescapeHtml(action), fields };
}

export interface SignInResult {
  /** The first redirect `until` accepted (e.g. the client's redirect_uri with code and state). */
  url: URL;
  /** Whether the IdP showed its login form (false: its session cookie signed the person in). */
  loginShown: boolean;
  /** Paths of the pages submitted by script on the way (e.g. /session/end/confirm when another account was signed in). */
  autoSubmitted: string[];
}

/**
 * Follows `start` (an authorization URL of the IdP, or of medid, which sends the browser on to
 * the IdP) through redirects, signing in as `login` when the IdP's form appears, until a
 * redirect's target satisfies `until`; that URL is not fetched.
 */
export async function signInThroughDevIdp(
  start: string | URL,
  o: { login: string; password?: string; until: (url: URL) => boolean; jar?: CookieJar; maxSteps?: number },
): Promise<SignInResult> {
  const jar = o.jar ?? new CookieJar();
  let url = new URL(start);
  let form: Record<string, string> | undefined;
  let loginShown = false;
  const autoSubmitted: string[] = [];
  for (let step = 0; step < (o.maxSteps ?? 20); step++) {
    const res = await browserFetch(jar, url, form ? { form } : {});
    form = undefined;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, url);
      if (o.until(next)) return { url: next, loginShown, autoSubmitted };
      url = next;
      continue;
    }
    const text = await res.text();
    const auto = res.status === 200 ? autoSubmitForm(text) : undefined;
    if (auto) {
      url = new URL(auto.action, url);
      form = auto.fields;
      autoSubmitted.push(url.pathname);
      continue;
    }
    const action = res.status === 200 ? loginFormAction(text) : undefined;
    if (action === undefined || loginShown) {
      throw new Error(`sign-in stopped at ${res.status} ${url.href}: ${text.slice(0, 500)}`);
    }
    loginShown = true;
    url = new URL(action, url);
    form = { login: o.login, password: o.password ?? 'any-password' };
  }
  throw new Error(`sign-in did not reach its end in ${o.maxSteps ?? 20} steps (last ${url.href})`);
}
