/**
 * The one registry of step actions. Validation, `plan`, the generated reference and the engine all read it.
 * Action modules are light to import (zod schemas and plain functions); each imports its Azure SDK lazily.
 */
import type {ActionDefinition} from './types.js'
import {coreActions} from './core.js'
import {httpActions} from './http.js'
import {securityActions} from './security.js'
import {postgresActions} from './postgres.js'
import {redisActions} from './redis.js'
import {managedRedisActions} from './managed-redis.js'
import {webappActions} from './webapp.js'
import {monitorActions} from './monitor.js'
import {storageActions} from './storage.js'
import {drillActions} from './drill.js'
import {sqlActions} from './sql.js'
import {serviceBusActions} from './servicebus.js'
import {cosmosActions} from './cosmos.js'
import {trafficActions} from './traffic.js'

const modules: ActionDefinition[][] = [coreActions, httpActions, securityActions, postgresActions, redisActions, managedRedisActions, webappActions, monitorActions, storageActions, drillActions, sqlActions, cosmosActions, serviceBusActions, trafficActions]

const registry = new Map<string, ActionDefinition>()
for (const list of modules) for (const action of list) registry.set(action.name, action)

/** The action called `name`, or undefined. */
export function findAction(name: string): ActionDefinition | undefined {
  return registry.get(name)
}

/** Every registered action, sorted by name. */
export function listActions(): ActionDefinition[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name))
}

/** Register more actions (tests, and the Azure action modules as they are added). */
export function registerActions(actions: ActionDefinition[]): void {
  for (const action of actions) registry.set(action.name, action)
}
