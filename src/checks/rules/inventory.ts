/**
 * `inventory.missing`: a catalog component the scan cannot see. Without it, a server hidden by a missing Reader role,
 * Resource Graph indexing lag or a wrong name in the catalog yields no findings at all and the gate passes.
 * It is not evaluated per resource (`resourceTypes` is empty): `evaluateInventory` compares the catalog with the
 * inventory and reports each absent component (and each absent slot of a present site) as an `error`.
 */
import type {CheckRule} from '../types.js'
import {notApplicable} from './helpers.js'

export const INVENTORY_MISSING = 'inventory.missing'

export const inventoryRules: CheckRule[] = [
  {
    id: INVENTORY_MISSING,
    title: 'Every catalog component (and slot) is visible to the scan',
    severity: 'high',
    resourceTypes: [],
    reads: ['Resource Graph resources row of each catalog component and slot'],
    evaluate: () => notApplicable('evaluated from the catalog, not per resource'),
    remediation: {
      text: "Check the component's name and resource group in the catalog, grant the scanning identity Reader on the resource group, or wait for Resource Graph to index a new resource.",
      az: `az graph query -q "resources | where name =~ '<name>' | project id, resourceGroup" --subscriptions <subscription>`,
    },
    frameworks: {mcsb: ['AM-1'], soc2: ['CC6.1'], iso27001: ['A.5.9']},
  },
]
