/**
 * @azure/identity keeps an AbortController for every managed-identity token request for the life of the process
 * (Azure/azure-sdk-for-js#26161, open): IdentityClient.generateAbortSignal pushes each request's controller into
 * `abortControllers` (a Map of arrays keyed by correlation id, the managed-identity GETs all under one key) and drops
 * them only when one is aborted or `abortRequests()` is called — which nothing in @azure/identity (4.x) calls. MSAL
 * keeps the first managed-identity source it made in a static (ManagedIdentityClient.identitySource), with that
 * credential's IdentityClient as its network client, so the array outlives every credential: ~0.5 KB per token request
 * (the soak: 142 controllers every 20 drills with 10 s tokens, found by diffing heap snapshots, bench/heap-diff.mjs).
 *
 * Since nothing aborts through that map, the controllers of finished requests are only memory: once no token request
 * of opsbook's is in flight, they are forgotten (clients.ts heldTokens). The SDK's classes are not patched: only the
 * map of finished requests is emptied, as `abortRequests()` would empty it.
 */
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'

type ControllerMap = Map<string, AbortController[] | undefined>
interface MsalManagedIdentityClient {
  identitySource?: {networkClient?: {abortControllers?: unknown}}
}

let msalClient: Promise<MsalManagedIdentityClient | undefined> | undefined

/**
 * msal-node's ManagedIdentityClient class (not exported by msal): loaded by the URL msal's own index imports it from,
 * which is the same module instance @azure/identity uses. Undefined when msal-node is laid out differently.
 */
export function msalManagedIdentityClient(): Promise<MsalManagedIdentityClient | undefined> {
  msalClient ??= (async () => {
    try {
      const fromIdentity = createRequire(createRequire(import.meta.url).resolve('@azure/identity'))
      const dist = join(dirname(fromIdentity.resolve('@azure/msal-node/package.json')), 'dist')
      const module = (await import(pathToFileURL(join(dist, 'client', 'ManagedIdentityClient.mjs')).href)) as {ManagedIdentityClient?: MsalManagedIdentityClient}
      return module.ManagedIdentityClient
    } catch {
      return undefined
    }
  })()
  return msalClient
}

/** The controllers map of MSAL's managed-identity network client, when there is one. */
export async function identityAbortControllers(): Promise<ControllerMap | undefined> {
  const controllers = (await msalManagedIdentityClient())?.identitySource?.networkClient?.abortControllers
  return controllers instanceof Map ? (controllers as ControllerMap) : undefined
}

/**
 * Forget the controllers of finished token requests. Called when none of opsbook's token requests is in flight, so
 * every controller in the map belongs to a finished request (one that another caller of @azure/identity has in flight
 * would only lose a reference that nothing reads). Returns how many were forgotten.
 */
export async function forgetFinishedTokenRequests(): Promise<number> {
  const map = await identityAbortControllers()
  if (!map) return 0
  let forgotten = 0
  for (const controllers of map.values()) forgotten += controllers?.length ?? 0
  map.clear()
  return forgotten
}
