/**
 * The emulator's token issuer: the access tokens its managed-identity endpoint hands out are JWTs signed RS256 with
 * the emulator's own CA key (the certificate clients already trust), with `kid`/`x5t` naming that certificate the way
 * Microsoft Entra ID names its signing keys (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens).
 * So a data plane of the emulator can validate a token as a resource server in Azure does: signature from the issuer's
 * key, issuer, audience, not-before and expiry. ARM (server.ts, checkBearerToken) and the PostgreSQL data plane
 * (engines/postgres-plane.ts) validate them; Azurite does not.
 */
import {X509Certificate, createSign, createVerify, type KeyObject} from 'node:crypto'
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
  return parsed(certificate.certPem).thumbprint
}

/**
 * A certificate's thumbprint and public key, read once per certificate: ARM checks the token of every request, and
 * parsing the PEM each time was ~0.5 s of the CPU profile of test/checks/fleet.test.ts's Resource Graph scans.
 */
const certificates = new Map<string, {thumbprint: string; publicKey: KeyObject}>()
function parsed(certPem: string): {thumbprint: string; publicKey: KeyObject} {
  let entry = certificates.get(certPem)
  if (!entry) {
    const x509 = new X509Certificate(certPem)
    entry = {thumbprint: Buffer.from(x509.fingerprint.replace(/:/g, ''), 'hex').toString('base64url'), publicKey: x509.publicKey}
    // A process runs one emulator, or a test file a few after each other: keep the last few.
    if (certificates.size >= 8) certificates.delete(certificates.keys().next().value!)
    certificates.set(certPem, entry)
  }
  return entry
}

/** A JWT signed RS256 with the emulator's CA key. */
export function signToken(claims: TokenClaims, certificate: Pick<EmulatorCertificate, 'certPem' | 'keyPem'>): string {
  const kid = thumbprint(certificate)
  const body = `${b64({typ: 'JWT', alg: 'RS256', x5t: kid, kid})}.${b64(claims)}`
  const signature = createSign('RSA-SHA256').update(body).sign(certificate.keyPem).toString('base64url')
  return `${body}.${signature}`
}

/** Why a token was refused: ARM (server.ts) answers each with its own error code. */
export type TokenProblem = 'malformed' | 'unsigned' | 'signature' | 'issuer' | 'audience' | 'expired' | 'not-yet-valid' | 'principal'

export type TokenCheck = {ok: true; claims: TokenClaims} | {ok: false; problem: TokenProblem; reason: string; claims?: Partial<TokenClaims>}

/**
 * Validate a token as a resource server does: well-formed, RS256-signed by the emulator's key, issued for `tenant`,
 * for `audience` (one of them, trailing slash ignored), and valid now (5 minutes of clock skew, as
 * Microsoft.IdentityModel allows by default; `lifetime: false` leaves the lifetime to the caller). The reason says
 * what failed, without the token.
 */
export function verifyToken(
  token: string,
  expect: {audience: string | string[]; tenant: string; certificate: Pick<EmulatorCertificate, 'certPem'>; now?: Date; lifetime?: boolean},
): TokenCheck {
  const parts = token.split('.')
  const malformed = {ok: false as const, problem: 'malformed' as const, reason: 'the password is not a Microsoft Entra access token (a JWT)'}
  if (parts.length !== 3) return malformed
  let header: {alg?: string; kid?: string}
  let claims: TokenClaims
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'))
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
  } catch {
    return malformed
  }
  if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return malformed
  if (header.alg !== 'RS256') return {ok: false, problem: 'unsigned', reason: `the token is not signed (alg ${JSON.stringify(header.alg ?? null)}; the issuer signs RS256)`, claims}
  const signed = createVerify('RSA-SHA256')
    .update(`${parts[0]}.${parts[1]}`)
    .verify(parsed(expect.certificate.certPem).publicKey, Buffer.from(parts[2]!, 'base64url'))
  if (!signed) return {ok: false, problem: 'signature', reason: "the token's signature does not verify with the issuer's signing key", claims}
  if (claims.iss !== issuerOf(expect.tenant))
    return {ok: false, problem: 'issuer', reason: `the token was issued by ${JSON.stringify(claims.iss)}, not by the server's tenant (${issuerOf(expect.tenant)})`, claims}
  const audiences = (Array.isArray(expect.audience) ? expect.audience : [expect.audience]).map((a) => a.replace(/\/$/, ''))
  if (!audiences.includes(String(claims.aud ?? '').replace(/\/$/, '')))
    return {ok: false, problem: 'audience', reason: `the token's audience is ${JSON.stringify(claims.aud)}, not ${audiences.join(' or ')}`, claims}
  if (expect.lifetime !== false) {
    const now = Math.floor((expect.now ?? new Date()).getTime() / 1000)
    const skew = 300
    if (typeof claims.exp !== 'number' || claims.exp + skew <= now)
      return {ok: false, problem: 'expired', reason: `the token expired at ${typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : '(no exp claim)'}`, claims}
    if (typeof claims.nbf === 'number' && claims.nbf - skew > now)
      return {ok: false, problem: 'not-yet-valid', reason: `the token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`, claims}
  }
  if (typeof claims.oid !== 'string' || !claims.oid) return {ok: false, problem: 'principal', reason: 'the token names no principal (no oid claim)', claims}
  return {ok: true, claims}
}
