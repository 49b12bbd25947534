/**
 * The emulator's token issuer: the access tokens its managed-identity endpoint hands out are JWTs signed RS256 with
 * the emulator's own CA key (the certificate clients already trust), with `kid`/`x5t` naming that certificate the way
 * Microsoft Entra ID names its signing keys (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens).
 * So a data plane of the emulator can validate a token as a resource server in Azure does: signature from the issuer's
 * key, issuer, audience, not-before and expiry. ARM and Azurite only decode tokens; the PostgreSQL data plane
 * (engines/postgres-front.ts) validates them.
 */
import {X509Certificate, createSign, createVerify} from 'node:crypto'
import type {EmulatorCertificate} from './context.js'

export interface TokenClaims {
  aud: string
  iss: string
  iat?: number
  nbf?: number
  exp: number
  oid: string
  sub?: string
  tid: string
  appid?: string
  [claim: string]: unknown
}

/** The issuer Microsoft Entra ID v1 tokens carry for a tenant (the emulator's tokens name the catalog's tenant). */
export function issuerOf(tenant: string): string {
  return `https://sts.windows.net/${tenant}/`
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The certificate's SHA-1 thumbprint, base64url: Entra's `kid`/`x5t` of a signing key. */
function thumbprint(certificate: Pick<EmulatorCertificate, 'certPem'>): string {
  return Buffer.from(new X509Certificate(certificate.certPem).fingerprint.replace(/:/g, ''), 'hex').toString('base64url')
}

/** A JWT signed RS256 with the emulator's CA key. */
export function signToken(claims: TokenClaims, certificate: Pick<EmulatorCertificate, 'certPem' | 'keyPem'>): string {
  const kid = thumbprint(certificate)
  const body = `${b64({typ: 'JWT', alg: 'RS256', x5t: kid, kid})}.${b64(claims)}`
  const signature = createSign('RSA-SHA256').update(body).sign(certificate.keyPem).toString('base64url')
  return `${body}.${signature}`
}

export type TokenCheck = {ok: true; claims: TokenClaims} | {ok: false; reason: string}

/**
 * Validate a token as a resource server does: well-formed, RS256-signed by the emulator's key, issued for `tenant`,
 * for `audience`, and valid now (5 minutes of clock skew, as Microsoft.IdentityModel allows by default). The reason
 * says what failed, without the token.
 */
export function verifyToken(token: string, expect: {audience: string; tenant: string; certificate: Pick<EmulatorCertificate, 'certPem'>; now?: Date}): TokenCheck {
  const parts = token.split('.')
  if (parts.length !== 3) return {ok: false, reason: 'the password is not a Microsoft Entra access token (a JWT)'}
  let header: {alg?: string; kid?: string}
  let claims: TokenClaims
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'))
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
  } catch {
    return {ok: false, reason: 'the password is not a Microsoft Entra access token (a JWT)'}
  }
  if (header.alg !== 'RS256') return {ok: false, reason: `the token is not signed (alg ${JSON.stringify(header.alg ?? null)}; the issuer signs RS256)`}
  const signed = createVerify('RSA-SHA256')
    .update(`${parts[0]}.${parts[1]}`)
    .verify(new X509Certificate(expect.certificate.certPem).publicKey, Buffer.from(parts[2]!, 'base64url'))
  if (!signed) return {ok: false, reason: "the token's signature does not verify with the issuer's signing key"}
  if (claims.iss !== issuerOf(expect.tenant)) return {ok: false, reason: `the token was issued by ${JSON.stringify(claims.iss)}, not by the server's tenant (${issuerOf(expect.tenant)})`}
  const audience = expect.audience.replace(/\/$/, '')
  if (String(claims.aud ?? '').replace(/\/$/, '') !== audience) return {ok: false, reason: `the token's audience is ${JSON.stringify(claims.aud)}, not ${audience}`}
  const now = Math.floor((expect.now ?? new Date()).getTime() / 1000)
  const skew = 300
  if (typeof claims.exp !== 'number' || claims.exp + skew <= now) return {ok: false, reason: `the token expired at ${typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : '(no exp claim)'}`}
  if (typeof claims.nbf === 'number' && claims.nbf - skew > now) return {ok: false, reason: `the token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`}
  if (typeof claims.oid !== 'string' || !claims.oid) return {ok: false, reason: 'the token names no principal (no oid claim)'}
  return {ok: true, claims}
}
