/** The host of a URL without the brackets of an IPv6 literal: "[::1]" → "::1"; any other host unchanged. */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
