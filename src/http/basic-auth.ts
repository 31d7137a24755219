/**
 * @module wirekit/http/basic-auth
 * The value of an `Authorization` or `Proxy-Authorization` header for Basic credentials
 * (RFC 7617): `Basic ` and base64 of `user:password` in UTF-8.
 */

/** `Basic <base64 of user:password>`. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
