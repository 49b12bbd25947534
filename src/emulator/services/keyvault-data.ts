/**
 * The Key Vault data plane of the emulated vaults, under `/_emulator/keyvault/{vault}` (what
 * `https://{vault}.vault.azure.net` is in Azure; opsbook's AzureServices.keyVaultGet maps one to the other). Shapes
 * and errors follow spec keyvault/data-plane/Microsoft.KeyVault/stable/7.5 (secrets.json, certificates.json and their
 * examples): Get/Set Secret, Get Certificates (CertificateItem list) and Get Certificate Policy. A request without a
 * bearer token is 401 as Key Vault answers it; a token is validated before the route runs (server.ts checkBearerToken: the
 * emulator's issuer, audience https://vault.azure.net).
 */
import {createHash} from 'node:crypto'
import type {EmulatorContext} from '../context.js'
import type {EmulatorRequest, EmulatorResponse, Route} from '../types.js'
import {miscState, type VaultSecret} from './arm-misc.js'

const BASE = '/_emulator/keyvault/{vault}'

/** Key Vault's error envelope: `{error: {code, message}}` (KeyVaultError in common.json). */
const kvError = (status: number, code: string, message: string): EmulatorResponse => ({status, body: {error: {code, message}}})

export function routes(ctx: EmulatorContext): Route[] {
  const vaultOf = (name: string) => Object.values(miscState(ctx).vaults).find((v) => v.resource.name.toLowerCase() === name.toLowerCase())
  const uriOf = (vault: NonNullable<ReturnType<typeof vaultOf>>) => String(vault.resource.properties?.vaultUri ?? `https://${vault.resource.name}.vault.azure.net/`).replace(/\/+$/, '')
  /** 401 without a bearer token, 404 for a vault the emulator does not have (Azure: the host does not resolve). */
  const guard = (request: EmulatorRequest, name: string): EmulatorResponse | NonNullable<ReturnType<typeof vaultOf>> => {
    // Key Vault's answer, with the challenge its SDKs' challenge-based authentication reads (recorded from Key Vault in
    // Azure/azure-sdk-for-js sdk/keyvault/keyvault-secrets/recordings/node/challenge_based_authentication_tests).
    if (!/^Bearer \S+/i.test(String(request.headers.authorization ?? '')))
      return {
        ...kvError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'),
        headers: {'WWW-Authenticate': `Bearer authorization="https://login.windows.net/${ctx.environment.tenant ?? '00000000-0000-0000-0000-000000000000'}", resource="https://vault.azure.net"`},
      }
    return vaultOf(name) ?? kvError(404, 'VaultNotFound', `The vault '${name}' does not exist in this emulator.`)
  }
  const isResponse = (v: unknown): v is EmulatorResponse => typeof v === 'object' && v !== null && 'status' in v
  const seconds = () => Math.floor(ctx.clock().getTime() / 1000)

  return [
    {
      method: 'GET',
      pattern: `${BASE}/secrets/{secret}`,
      operation: 'keyvault.data.getSecret',
      handler: (request, p) => {
        const vault = guard(request, p.vault!)
        if (isResponse(vault)) return vault
        const key = p.secret!.toLowerCase()
        const record = vault.secrets?.[key]
        const value = vault.secretValues?.[key]
        if (!record || value === undefined)
          return kvError(404, 'SecretNotFound', `A secret with (name/id) ${p.secret} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`)
        if (record.attributes.enabled === false) return kvError(403, 'Forbidden', `Operation get is not allowed on a disabled secret.`)
        return {status: 200, body: secretBundle(uriOf(vault), record, value)}
      },
    },
    {
      method: 'PUT',
      pattern: `${BASE}/secrets/{secret}`,
      operation: 'keyvault.data.setSecret',
      handler: (request, p) => {
        const vault = guard(request, p.vault!)
        if (isResponse(vault)) return vault
        const body = request.body
        if (!/^[0-9a-zA-Z-]{1,127}$/.test(p.secret!)) return kvError(400, 'BadParameter', `The secret name '${p.secret}' is invalid: use 1 to 127 letters, digits and dashes.`)
        if (typeof body?.value !== 'string') return kvError(400, 'BadParameter', 'Property value is required and must be a string.')
        const key = p.secret!.toLowerCase()
        const now = seconds()
        const previous = vault.secrets?.[key]
        // A new version each time, as Set Secret does; the ARM list (arm-misc) shows its attributes, never the value.
        const record: VaultSecret = {
          name: previous?.name ?? p.secret!,
          version: createHash('sha256').update(`${key}:${now}:${body.value.length}:${previous?.version ?? ''}`).digest('hex').slice(0, 32),
          ...(typeof body.contentType === 'string' ? {contentType: body.contentType} : {}),
          attributes: {enabled: body.attributes?.enabled ?? true, ...(typeof body.attributes?.exp === 'number' ? {exp: body.attributes.exp} : {}), created: previous?.attributes.created ?? now, updated: now},
          tags: {...(body.tags ?? {})},
        }
        ;(vault.secrets ??= {})[key] = record
        ;(vault.secretValues ??= {})[key] = body.value
        return {status: 200, body: secretBundle(uriOf(vault), record, body.value)}
      },
    },
    {
      method: 'GET',
      pattern: `${BASE}/certificates`,
      operation: 'keyvault.data.getCertificates',
      handler: (request, p) => {
        const vault = guard(request, p.vault!)
        if (isResponse(vault)) return vault
        const all = Object.values(vault.certificates ?? {}).map((c) => ({id: `${uriOf(vault)}/certificates/${c.name}`, x5t: c.x5t, attributes: {...c.attributes}, tags: {...c.tags}}))
        // Pages of 25, or `maxresults` (1–25): "Maximum number of results to return in a page. If not specified the
        // service will return up to 25 results." (GetCertificates, data-plane/Microsoft.KeyVault/stable/7.4 and 7.5
        // certificates.json, `minimum: 1, maximum: 25`; GetKeys / GetSecrets in keys.json / secrets.json say the same —
        // Azure/azure-rest-api-specs at d9a3b783, read in the fork gubalasu/azure-rest-api-specs). The nextLink is absolute on the vault's host, `:443/certificates?api-version=…&$skiptoken=…`
        // plus `&maxresults=N` when the request gave one, as Key Vault writes it (Azure/azure-sdk-for-js keyvault
        // recordings: `https://keyvault_name.vault.azure.net:443/certificates?api-version=7.3&$skiptoken=…`).
        // (A maxresults outside 1–25 is outside the spec's range; its error text is not documented, so it is clamped.)
        const asked = Number.parseInt(request.query.get('maxresults') ?? '', 10)
        const size = request.pageSize ?? (Number.isInteger(asked) ? Math.min(25, Math.max(1, asked)) : 25)
        const start = Math.max(0, Number.parseInt(request.query.get('$skiptoken') ?? '0', 10) || 0)
        const value = all.slice(start, start + size)
        const apiVersion = encodeURIComponent(request.query.get('api-version') ?? '7.5')
        const max = request.query.has('maxresults') ? `&maxresults=${size}` : ''
        const nextLink = start + size < all.length ? `${uriOf(vault)}:443/certificates?api-version=${apiVersion}&$skiptoken=${start + size}${max}` : null
        return {status: 200, body: {value, nextLink}}
      },
    },
    {
      method: 'GET',
      pattern: `${BASE}/certificates/{certificate}/policy`,
      operation: 'keyvault.data.getCertificatePolicy',
      handler: (request, p) => {
        const vault = guard(request, p.vault!)
        if (isResponse(vault)) return vault
        const cert = vault.certificates?.[p.certificate!.toLowerCase()]
        if (!cert) return kvError(404, 'CertificateNotFound', `A certificate with (name/id) ${p.certificate} was not found in this key vault.`)
        return {
          status: 200,
          body: {
            id: `${uriOf(vault)}/certificates/${cert.name}/policy`,
            key_props: {exportable: true, kty: 'RSA', key_size: 2048, reuse_key: false},
            secret_props: {contentType: 'application/x-pkcs12'},
            x509_props: {subject: `CN=${cert.name}`, ekus: [], key_usage: [], validity_months: cert.policy.validityMonths},
            lifetime_actions: cert.policy.lifetimeActions.map((a) => ({trigger: {...a.trigger}, action: {...a.action}})),
            issuer: {name: cert.policy.issuer},
            attributes: {enabled: true, created: cert.attributes.created, updated: cert.attributes.updated},
          },
        }
      },
    },
  ]
}

/** SecretBundle (GetSecret-example.json): value, id with version, attributes. */
function secretBundle(vaultUri: string, record: VaultSecret, value: string): Record<string, unknown> {
  return {
    value,
    id: `${vaultUri}/secrets/${record.name}/${record.version}`,
    ...(record.contentType ? {contentType: record.contentType} : {}),
    attributes: {...record.attributes, recoveryLevel: 'Recoverable+Purgeable'},
    tags: {...record.tags},
  }
}
