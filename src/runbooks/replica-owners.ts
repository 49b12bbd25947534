/**
 * The components a run changes through a PostgreSQL read replica. Promoting a replica takes it out of its primary's
 * replication (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote), so the
 * run changes the primary's component and must hold that component's lease, like any run that changes it — or a
 * second run could act on the same primary while this one promotes, and a lost lease would go unnoticed (issue 16).
 * A replica the catalog lists names its component directly; any other is read through ARM: its
 * `sourceServerResourceId` (Microsoft.DBforPostgreSQL/flexibleServers, api 2025-08-01) names the primary.
 */
import {resolveResource} from '../actions/resolve.js'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import {flattenSteps} from './groups.js'
import type {Runbook} from './model.js'

/** Inputs that name a replica the step changes (postgres.promoteReplica's `replica`). */
const REPLICA_INPUTS: Record<string, string> = {'postgres.promoteReplica': 'replica'}

export async function replicaOwners(runbook: Runbook, params: Record<string, unknown>, environment: Environment, services: AzureServices, signal?: AbortSignal): Promise<string[]> {
  const references = new Set<string>()
  for (const {spec} of flattenSteps(runbook)) {
    const input = REPLICA_INPUTS[spec.uses]
    const value = input ? spec.with?.[input] : undefined
    if (typeof value !== 'string') continue
    const param = /^\$\{\{\s*params\.([A-Za-z_][\w-]*)\s*\}\}$/.exec(value)?.[1]
    const reference = param ? params[param] : value.includes('${{') ? undefined : value
    if (typeof reference === 'string' && reference) references.add(reference)
  }
  const owners = new Set<string>()
  for (const reference of references) {
    let resource
    try {
      resource = resolveResource(environment, 'postgres', reference)
    } catch {
      continue // the step itself reports a reference it cannot use
    }
    if (resource.componentKey) {
      owners.add(resource.componentKey)
      continue
    }
    const client = await services.postgres()
    const server = await client.servers.get(resource.resourceGroup, resource.name, {abortSignal: signal ?? AbortSignal.timeout(30_000)}).catch(() => undefined)
    const source = server?.sourceServerResourceId
    if (!source) continue
    const primary = resolveResource(environment, 'postgres', source)
    if (primary.componentKey) owners.add(primary.componentKey)
  }
  return [...owners]
}
