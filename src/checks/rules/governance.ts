/**
 * Governance: delete locks on stateful resources and the catalog's required tags. `gov.lock.critical` covers
 * the notes' `st.delete_lock` for storage as well (one lock rule for PostgreSQL, Redis, Storage and Key Vault).
 */
import {ALL_RESOURCE_TYPES, RESOURCE_TYPES, type CheckRule, type InventoryResource} from '../types.js'
import {fail, MissingData, notApplicable, pass} from './helpers.js'

/** The scopes a lock can sit on to protect a resource: itself, its resource group, its subscription. */
export function protectingScopes(resource: InventoryResource): string[] {
  const id = resource.id.toLowerCase()
  const rg = `/subscriptions/${resource.subscriptionId}/resourcegroups/${resource.resourceGroup}`.toLowerCase()
  return [id, rg, `/subscriptions/${resource.subscriptionId}`.toLowerCase()]
}

export const governanceRules: CheckRule[] = [
  {
    id: 'gov.lock.critical',
    title: 'Stateful resource is protected by a delete lock (on it, its resource group or subscription)',
    severity: 'medium',
    resourceTypes: [RESOURCE_TYPES.postgres, RESOURCE_TYPES.redis, RESOURCE_TYPES.storage, RESOURCE_TYPES.keyvault],
    reads: ['microsoft.authorization/locks: properties.level, scope from the lock id'],
    evaluate(resource, _f, context) {
      if (!context.locks.ok) throw new MissingData(`locks could not be read: ${context.locks.error}`)
      const scopes = protectingScopes(resource)
      const lock = context.locks.value.find((l) => scopes.includes(l.scope) && ['cannotdelete', 'readonly'].includes(l.level.toLowerCase()))
      if (!lock) return fail('no CanNotDelete or ReadOnly lock on the resource, its resource group or its subscription')
      const where = lock.scope === scopes[0] ? 'the resource' : lock.scope === scopes[1] ? 'its resource group' : 'its subscription'
      return pass(`${lock.level} lock ${lock.name} on ${where}`)
    },
    remediation: {text: 'Add a CanNotDelete lock.', az: 'az lock create --name do-not-delete --lock-type CanNotDelete --resource <id>'},
    frameworks: {cis: ['F6 6.2', 'F6 9.3.9'], mcsb: ['AM-4'], soc2: ['A1.2'], iso27001: ['A.8.13']},
  },
  {
    id: 'gov.tags.required',
    title: "Resource carries the catalog's required tags",
    severity: 'low',
    resourceTypes: ALL_RESOURCE_TYPES,
    reads: ['tags'],
    evaluate(resource, _f, context) {
      const required = context.environment.requiredTags
      if (required.length === 0) return notApplicable('the environment requires no tags')
      if (resource.tags === undefined) throw new MissingData('tags is absent')
      const tags = Object.fromEntries(Object.entries(resource.tags ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
      const missing = required.filter((t) => !tags[t.toLowerCase()])
      return missing.length === 0 ? pass(`has ${required.join(', ')}`) : fail(`missing tag(s) ${missing.join(', ')}`)
    },
    remediation: {text: 'Add the missing tags.', az: 'az tag update --resource-id <id> --operation merge --tags <key>=<value>'},
    frameworks: {mcsb: ['AM-2'], soc2: ['CC6.1'], iso27001: ['A.5.9']},
  },
]
