/**
 * After teardown, look through ARM at an operation a step started and did not see finish: is it still running, and
 * does what it created still exist? So "left behind" names only what really is left, not everything that was once
 * in flight. ARM forgets finished operations (the monitor answers 404), so the resource itself is the final word
 * for creates and deletes: https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/async-operations
 */
import type {TrackedOperation} from '../actions/types.js'
import {apiVersions, providerTypes, type ResourceKind} from '../actions/resolve.js'
import {COSMOS_API_VERSION} from '../actions/cosmos.js'
import {SQL_API_VERSION} from '../actions/sql.js'
import type {AzureServices} from './clients.js'
import {rebase} from './lro.js'

const INSPECT_TIMEOUT_MS = 30_000

/** The api-version of the provider type a resource URL names (the URLs we journal carry none). */
export function apiVersionOf(resourceUrl: string): string | undefined {
  const path = resourceUrl.toLowerCase()
  for (const [kind, type] of Object.entries(providerTypes) as Array<[ResourceKind, string]>) if (path.includes(`/providers/${type.toLowerCase()}/`)) return apiVersions[kind]
  // The other kinds whose creates and deletes are tracked (sql.restore/delete, cosmos.restore/delete): without an
  // api-version ARM answers 400 (MissingApiVersionParameter), and a SQL restore teardown had deleted was listed as
  // "left behind: its resource could not be read (HTTP 400)" after a Ctrl-C in dr-drill (exit 3 for nothing).
  for (const [type, version] of OTHER_API_VERSIONS) if (path.includes(`/providers/${type}/`)) return version
  return undefined
}

const OTHER_API_VERSIONS: ReadonlyArray<[string, string]> = [
  ['microsoft.sql/servers', SQL_API_VERSION],
  ['microsoft.documentdb/databaseaccounts', COSMOS_API_VERSION],
]

export async function inspectOperation(services: AzureServices, operation: TrackedOperation): Promise<{remains: boolean; detail?: string}> {
  const signal = AbortSignal.timeout(INSPECT_TIMEOUT_MS)
  let monitorStatus: string | undefined
  if (operation.monitorUrl) {
    const monitor = await services.armRequest('GET', rebase(operation.monitorUrl, operation.resourceUrl, services.armEndpoint), {signal})
    if (monitor.status === 202) monitorStatus = 'InProgress'
    else if (monitor.status < 400) monitorStatus = typeof monitor.body?.status === 'string' ? monitor.body.status : 'Succeeded'
  }
  if (monitorStatus && !/^(succeeded|failed|canceled|cancelled)$/i.test(monitorStatus))
    return {remains: true, detail: `it is still running (${monitorStatus}): ${operation.monitorUrl}`}

  if (operation.method === 'PUT' || operation.method === 'PATCH' || operation.method === 'DELETE') {
    const url = rebase(operation.resourceUrl, operation.resourceUrl, services.armEndpoint)
    const resource = await services.armRequest('GET', url, {signal, apiVersion: apiVersionOf(url)})
    const name = new URL(url, services.armEndpoint).pathname.split('/').filter(Boolean).at(-1)
    if (resource.status === 404) return {remains: false, detail: `${name} does not exist`}
    if (resource.status >= 400) return {remains: true, detail: `its resource could not be read (HTTP ${resource.status})`}
    return {remains: true, detail: `${name} still exists`}
  }
  // An action (swap, export…): one that ARM says failed or was canceled changed nothing.
  if (monitorStatus && /^(failed|canceled|cancelled)$/i.test(monitorStatus)) return {remains: false, detail: `it ended ${monitorStatus}`}
  return {remains: true, detail: monitorStatus ? `it ended ${monitorStatus}; what it changed is still in place` : 'its outcome could not be read'}
}
