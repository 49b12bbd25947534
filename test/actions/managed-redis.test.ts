/**
 * The `az redisenterprise update --maintenance-configuration` value opsbook prints: the argument's own key names as
 * the redisenterprise extension declares them (azure-cli-extensions src/redisenterprise/azext_redisenterprise/aaz/
 * latest/redisenterprise/_update.py). Debian's az 2.45 cannot load that extension, so the az conformance suite cannot
 * parse the line; this pins it to the form the extension's own scenario test passes (tests/latest/
 * test_maintenance_config.py, `maintenance_update`: Wednesday and Saturday, 04:00 UTC, PT10H).
 */
import {describe, expect, it} from 'vitest'
import {amrMaintenanceAzValue} from '../../src/actions/managed-redis.js'

describe('amrMaintenanceAzValue', () => {
  it("prints the windows in the extension's argument form (kebab-case keys, as its scenario test passes them)", () => {
    const value = amrMaintenanceAzValue([
      {type: 'Weekly', duration: 'PT10H', startHourUtc: 4, schedule: {dayOfWeek: 'Wednesday'}},
      {type: 'Weekly', duration: 'PT10H', startHourUtc: 4, schedule: {dayOfWeek: 'Saturday'}},
    ])
    // The extension test's value, byte for byte apart from key order inside each window.
    const fromExtensionTest =
      '{"maintenance-windows":[{"duration":"PT10H","type":"Weekly","start-hour-utc":4,"schedule":{"day-of-week":"Wednesday"}},{"duration":"PT10H","type":"Weekly","start-hour-utc":4,"schedule":{"day-of-week":"Saturday"}}]}'
    expect(JSON.parse(value)).toEqual(JSON.parse(fromExtensionTest))
    expect(value).not.toMatch(/maintenanceWindows|startHourUtc|dayOfWeek/)
  })
})
