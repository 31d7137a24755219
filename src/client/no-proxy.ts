/**
 * @module wirekit/client/no-proxy
 * NO_PROXY as curl reads it: a comma- or space-separated list of host names (matching the name
 * and its subdomains; a leading `.` or `*.` is ignored), IP addresses, each with an optional
 * `:port`; `*` alone turns the proxy off for every host.
 */

/** One NO_PROXY entry: a lowercase host (IPv6 without brackets) and a port (`0`: any). */
export interface NoProxyRule {
  readonly host: string;
  readonly port: number;
}

const ALL: readonly NoProxyRule[] = Object.freeze([{ host: '*', port: 0 }]);

/** Parses a NO_PROXY value. */
export function noProxyRules(value: string): readonly NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(/[,\s]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return ALL;
    let port = 0;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed !== null) {
      entry = bracketed[1]!;
      port = Number(bracketed[2] ?? 0);
    } else {
      const withPort = /^([^:]+):(\d+)$/.exec(entry);
      if (withPort !== null) {
        entry = withPort[1]!;
        port = Number(withPort[2]);
      }
    }
    entry = entry.replace(/^\*?\./, '');
    if (entry !== '') rules.push({ host: entry, port });
  }
  return rules;
}

/** Whether a request to `url` goes through the proxy under these NO_PROXY rules. */
export function proxied(rules: readonly NoProxyRule[], url: URL): boolean {
  if (rules.length === 0) return true;
  if (rules === ALL) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const rule of rules) {
    if (rule.port !== 0 && rule.port !== port) continue;
    if (host === rule.host) return false;
    if (
      host.length > rule.host.length &&
      host.endsWith(rule.host) &&
      host[host.length - rule.host.length - 1] === '.'
    ) {
      return false;
    }
  }
  return true;
}
