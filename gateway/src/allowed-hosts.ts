/**
 * The only places the gateway calls on a request's word are the ones the operator allowed: portal
 * hosts (B24_PORTAL_HOSTS) and Bitrix24 OAuth servers (B24_OAUTH_HOSTS). Everything else a request
 * names is refused before any connection is made.
 */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase();
  return patterns.some((p) =>
    p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p,
  );
}

/**
 * The portal's address from the iframe's PROTOCOL and DOMAIN (a real portal's DOMAIN is a host; the
 * simulator's carries a path too). Null when it is not a plain http(s) address.
 */
export function portalAddress(protocol: string, domain: string): URL | null {
  if (!/^[A-Za-z0-9.:/_-]{1,255}$/.test(domain) || domain.startsWith('/') || domain.includes('//'))
    return null;
  let url: URL;
  try {
    url = new URL(`${protocol === '1' ? 'https' : 'http'}://${domain.replace(/\/+$/, '')}/`);
  } catch {
    return null;
  }
  return url.username || url.password || url.search || url.hash ? null : url;
}

/** The Bitrix24 OAuth server's token endpoint for an allowed SERVER_ENDPOINT (`https://oauth.bitrix.info/rest/`). */
export function tokenEndpoint(serverEndpoint: string, patterns: readonly string[]): string | null {
  let url: URL;
  try {
    url = new URL(serverEndpoint);
  } catch {
    return null;
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  )
    return null;
  if (!url.pathname.endsWith('/rest/') || !hostAllowed(url.host, patterns)) return null;
  return `${url.origin}${url.pathname.replace(/rest\/$/, 'oauth/token/')}`;
}
