/**
 * The cookies of ONE endpoint (one base URL), name -> value. Deliberately not a browser jar: no
 * domain or path matching, because an endpoint client only ever talks to one server, and SAP's
 * session cookie (path=/) must accompany the CSRF token it was issued with.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Takes the Set-Cookie header(s) of a response; Max-Age<=0 or a past Expires deletes. */
  store(setCookie: string | string[] | undefined, nowMs: number = Date.now()): void {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (isExpired(attributes, nowMs)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** The Cookie request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  clear(): void {
    this.cookies.clear();
  }
}

function isExpired(attributes: string[], nowMs: number): boolean {
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : attribute.slice(eq + 1).trim();
    if (key === 'max-age' && /^-?\d+$/.test(value)) return Number(value) <= 0; // Max-Age wins over Expires
  }
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    if (eq < 0 || attribute.slice(0, eq).trim().toLowerCase() !== 'expires') continue;
    const at = Date.parse(attribute.slice(eq + 1).trim());
    return Number.isFinite(at) && at <= nowMs;
  }
  return false;
}
