/**
 * Every check, in report order. Not implemented (and why): def.plans (securityresources), pg administrators list
 * (pg.auth.entra reads authConfig only), st.delete_lock (covered by gov.lock.critical). kv.expiry and
 * kv.key_rotation read ARM's key and secret lists (never the data plane); app.basic_auth.off and app.auth.easy_auth
 * read basicPublishingCredentialsPolicies and authsettingsV2 per site and slot. `inventory.missing` is reported from
 * the catalog (a component the scan cannot see), not per resource.
 */
import type {CheckRule} from '../types.js'
import {governanceRules} from './governance.js'
import {inventoryRules} from './inventory.js'
import {keyvaultRules} from './keyvault.js'
import {postgresRules} from './postgres.js'
import {redisRules} from './redis.js'
import {storageRules} from './storage.js'
import {webappRules} from './webapp.js'

export const CHECKS: CheckRule[] = [...postgresRules, ...redisRules, ...webappRules, ...storageRules, ...keyvaultRules, ...governanceRules, ...inventoryRules]

/** The check with this id, or undefined. */
export function findCheck(id: string): CheckRule | undefined {
  return CHECKS.find((c) => c.id === id)
}
