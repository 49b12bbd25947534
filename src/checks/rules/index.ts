/**
 * Every check, in report order. st.delete_lock is covered by gov.lock.critical. kv.expiry reads ARM's key and secret
 * lists and kv.key_rotation each enabled key's GET (never the data plane); app.basic_auth.off and
 * app.auth.easy_auth read basicPublishingCredentialsPolicies and authsettingsV2 per site and slot.
 * `inventory.missing` is reported from the catalog (a component the scan cannot see), not per resource.
 * docs/checks.md is generated from this list (`npm run checks-doc`).
 */
import type {CheckRule} from '../types.js'
import {governanceRules} from './governance.js'
import {platformRules} from './platform.js'
import {inventoryRules} from './inventory.js'
import {keyvaultRules} from './keyvault.js'
import {postgresRules} from './postgres.js'
import {redisRules} from './redis.js'
import {managedRedisRules} from './managed-redis.js'
import {storageRules} from './storage.js'
import {webappRules} from './webapp.js'
import {sqlRules} from './sql.js'
import {cosmosRules} from './cosmos.js'
import {trafficRules} from './traffic.js'
import {frontDoorRules} from './frontdoor.js'

export const CHECKS: CheckRule[] = [...postgresRules, ...redisRules, ...managedRedisRules, ...webappRules, ...storageRules, ...keyvaultRules, ...sqlRules, ...cosmosRules, ...trafficRules, ...frontDoorRules, ...platformRules, ...governanceRules, ...inventoryRules]

/** The check with this id, or undefined. */
export function findCheck(id: string): CheckRule | undefined {
  return CHECKS.find((c) => c.id === id)
}
