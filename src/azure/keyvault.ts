/**
 * Key Vault secret references (catalog `{vault, secret}`): the value is read from the vault's data plane when a probe
 * needs it — Get Secret, `GET {vaultBaseUrl}/secrets/{secret-name}?api-version=7.5` (spec keyvault/data-plane
 * Microsoft.KeyVault/stable/7.5/secrets.json, example GetSecret-example.json: `{value, id, attributes}`) — and never
 * stored in the catalog, the journal or the output (callers mark it secret before use).
 */
import type {AzureServices} from './clients.js'

export interface KeyVaultSecretRef {
  /** Vault name (e.g. kv-shop) or vault URL. */
  vault: string
  /** Secret name; the current version is read. */
  secret: string
}

/** The secret's current value; fails with what is wrong and what to do (role, name) rather than a bare status. */
export async function readKeyVaultSecret(services: Pick<AzureServices, 'keyVaultGet'>, ref: KeyVaultSecretRef, signal?: AbortSignal): Promise<string> {
  const where = `secret ${ref.secret} in Key Vault ${ref.vault}`
  let response: {status: number; body: any}
  try {
    response = await services.keyVaultGet(ref.vault, `/secrets/${encodeURIComponent(ref.secret)}`, signal)
  } catch (error) {
    throw new Error(`${where} could not be read: ${(error as Error).message}`)
  }
  const reason = response.body?.error?.message ? `: ${response.body.error.message}` : ''
  if (response.status === 404) throw new Error(`${where} does not exist (HTTP 404${reason})`)
  if (response.status === 401 || response.status === 403)
    throw new Error(`${where} could not be read: HTTP ${response.status}${reason} (the identity needs the Key Vault Secrets User role on the vault, or a get-secret access policy)`)
  if (response.status !== 200) throw new Error(`${where} could not be read: HTTP ${response.status}${reason}`)
  const value = response.body?.value
  if (typeof value !== 'string' || value === '') throw new Error(`${where} has no value`)
  return value
}
