/**
 * The components a run changes through a PostgreSQL read replica. Promoting a replica takes it out of its primary's
 * replication (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-read-replicas-promote), so the
 * run changes the primary's component and must hold that component's lease, like any run that changes it — or a
 * second run could act on the same primary while this one promotes, and a lost lease would go unnoticed (issue 16).
 * A replica the catalog lists names its component directly; any other is read through ARM: its
 * `sourceServerResourceId` (Microsoft.DBforPostgreSQL/flexibleServers, api 2025-08-01) names the primary.
 */
import {findAction} from '../actions/registry.js'
import {resolveResource} from '../actions/resolve.js'
import type {AzureServices} from '../azure/clients.js'
import type {Environment} from '../catalog/schema.js'
import {flattenSteps} from './groups.js'
import type {Runbook} from './model.js'

/** A read replica the catalog declares: its Azure name, and the component (primary server) it replicates. */
export interface CatalogReplica {
  name: string
  component: string
  primary: string
  region?: string
}

/** Every PostgreSQL read replica the environment's catalog declares, under its primary's component. */
export function catalogReplicas(environment: Environment): CatalogReplica[] {
  return Object.entries(environment.components).flatMap(([key, component]) =>
    component.type === 'postgres' ? component.replicas.map((r) => ({name: r.name, component: key, primary: component.name, ...(r.region ? {region: r.region} : {})})) : [],
  )
}

/** "pg-x (replica of orders-db, server pg-orders, in westus)" */
export function describeReplica(replica: CatalogReplica): string {
  return `${replica.name} (replica of ${replica.component}, server ${replica.primary}${replica.region ? `, in ${replica.region}` : ''})`
}

/**
 * The steps' inputs that name a replica they change, as the action registry declares them (`replicaInputs`): the
 * param that fills each (when it is `${{ params.x }}`) and the reference, when known.
 */
export function replicaReferences(runbook: Pick<Runbook, 'steps' | 'finally'>, params: Record<string, unknown>): Array<{step: string; param?: string; reference?: string}> {
  const found: Array<{step: string; param?: string; reference?: string}> = []
  for (const {spec} of flattenSteps(runbook)) {
    for (const input of findAction(spec.uses)?.replicaInputs ?? []) {
      const value = spec.with?.[input]
      if (typeof value !== 'string') continue
      const param = /^\$\{\{\s*params\.([A-Za-z_][\w-]*)\s*\}\}$/.exec(value)?.[1]
      const reference = param ? params[param] : value.includes('${{') ? undefined : value
      found.push({step: spec.id, ...(param ? {param} : {}), ...(typeof reference === 'string' && reference ? {reference} : {})})
    }
  }
  return found
}

export async function replicaOwners(runbook: Runbook, params: Record<string, unknown>, environment: Environment, services: AzureServices, signal?: AbortSignal): Promise<string[]> {
  const references = new Set(replicaReferences(runbook, params).flatMap((r) => (r.reference ? [r.reference] : [])))
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
