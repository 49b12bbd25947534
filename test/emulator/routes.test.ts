/**
 * One owner per emulator route: two services registering the same method and path shape would leave one of them
 * unserved (the first registered wins), so startEmulator refuses to start with a clash — every test that starts an
 * emulator fails on one. What the estate sets on plans and Redis firewall rules is checked in
 * test/checks/scenarios.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {duplicateRoutes} from '../../src/emulator/server.js'
import type {Route} from '../../src/emulator/types.js'

const route = (method: Route['method'], pattern: string, operation: string): Route => ({method, pattern, operation, handler: () => ({status: 200})})

describe('duplicateRoutes', () => {
  it('finds the same method and path shape registered by two services, whatever the parameter names and the case', () => {
    const clashes = duplicateRoutes([
      {service: 'webapp', route: route('GET', '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/{plan}', 'appServicePlans.get')},
      {service: 'estate', route: route('GET', '/subscriptions/{sub}/resourceGroups/{rg}/providers/microsoft.web/serverFarms/{name}', 'web.serverfarms.get')},
      // Same path, another method: no clash.
      {service: 'estate', route: route('PUT', '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/serverfarms/{name}', 'web.serverfarms.put')},
    ])
    expect(clashes).toEqual([
      'GET /subscriptions/{}/resourcegroups/{}/providers/microsoft.web/serverfarms/{}: webapp (appServicePlans.get) and estate (web.serverfarms.get)',
    ])
  })
})
