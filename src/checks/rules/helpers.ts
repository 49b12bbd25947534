/**
 * Small helpers rules share. The one rule that matters: a rule never treats absent or unreadable data as a pass.
 * `read` and `needFact` throw `MissingData`, which the evaluator turns into an `error` finding.
 */
import type {Evaluation, FactName, InventoryResource, ResourceFacts} from '../types.js'

/** Thrown when a value a rule needs is absent or could not be read; becomes an `error` finding. */
export class MissingData extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MissingData'
  }
}

/** The value at a dotted path (`properties.network.publicNetworkAccess`) of an object, case-insensitive on keys. */
export function valueAt(source: unknown, path: string): unknown {
  let current: any = source
  for (const key of path.split('.')) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined
    if (key in current) {
      current = current[key]
      continue
    }
    const match = Object.keys(current).find((k) => k.toLowerCase() === key.toLowerCase())
    current = match === undefined ? undefined : current[match]
  }
  return current
}

/** A resource property that must be present (null and undefined are absent). */
export function read(resource: InventoryResource, path: string): any {
  const value = valueAt(resource, path)
  if (value === undefined || value === null) throw new MissingData(`${path} is absent`)
  return value
}

/** A property of a fact's value that must be present. */
export function readIn(source: unknown, path: string, label: string): any {
  const value = valueAt(source, path)
  if (value === undefined || value === null) throw new MissingData(`${label}.${path} is absent`)
  return value
}

/** A collected fact that must have been read successfully. */
export function needFact(facts: ResourceFacts, name: FactName): any {
  const fact = facts[name]
  if (!fact) throw new MissingData(`${name} was not collected`)
  if (!fact.ok) throw new MissingData(`${name} could not be read: ${fact.error}`)
  return fact.value
}

/** A PostgreSQL server parameter value (lower-cased), which must be present. */
export function pgParameter(facts: ResourceFacts, name: string): string {
  const configurations = needFact(facts, 'pgConfigurations') as Record<string, string>
  const value = configurations[name]
  if (value === undefined || value === null) throw new MissingData(`server parameter ${name} is absent`)
  return String(value).toLowerCase()
}

export const pass = (message: string): Evaluation => ({status: 'pass', message})
export const fail = (message: string): Evaluation => ({status: 'fail', message})
export const notApplicable = (message: string): Evaluation => ({status: 'not-applicable', message})

/** Compare TLS versions written as 1.2, TLS1_2, TLSv1.2: returns [major, minor] or undefined. */
export function tlsVersion(value: unknown): [number, number] | undefined {
  const text = String(value)
  const m = /(\d)[._](\d)/.exec(text)
  if (m) return [Number(m[1]), Number(m[2])]
  // PostgreSQL's ssl_min_protocol_version spells TLS 1.0 `TLSv1`.
  const major = /^tlsv?(\d)$/i.exec(text.trim())
  return major ? [Number(major[1]), 0] : undefined
}

/** True when `value` names TLS 1.2 or newer; throws MissingData when it is no TLS version at all. */
export function atLeastTls12(value: unknown, label: string): boolean {
  const version = tlsVersion(value)
  if (!version) throw new MissingData(`${label} is '${String(value)}', not a TLS version`)
  return version[0] > 1 || (version[0] === 1 && version[1] >= 2)
}

/**
 * A resource property whose ARM default is insecure: absent (ARM omits unset properties) means the default, never
 * `error`. `properties` itself must be present, or nothing can be said. Callers cite the spec that gives the default.
 */
export function readOrDefault(resource: InventoryResource, path: string, armDefault: unknown): {value: any; defaulted: boolean} {
  if (!resource.properties) throw new MissingData('properties is absent')
  const value = valueAt(resource, path)
  return value === undefined || value === null ? {value: armDefault, defaulted: true} : {value, defaulted: false}
}

/** `x is v` or `x is not set (default v)`, for messages about defaulted properties. */
export function describeSetting(label: string, read: {value: unknown; defaulted: boolean}): string {
  return read.defaulted ? `${label} is not set (Azure's default: ${String(read.value)})` : `${label} is ${String(read.value)}`
}

/** Whether the value is exactly true / the string "true" (case-insensitive); anything else that is present is false. */
export function isTrue(value: unknown): boolean {
  return value === true || String(value).toLowerCase() === 'true'
}

/** Approved private endpoint connections (ARG shape `properties.privateLinkServiceConnectionState.status`). */
export function approvedPrivateEndpoints(connections: unknown): number {
  if (!Array.isArray(connections)) return 0
  return connections.filter((c) => {
    const status = valueAt(c, 'properties.privateLinkServiceConnectionState.status') ?? valueAt(c, 'privateLinkServiceConnectionState.status')
    return String(status).toLowerCase() === 'approved'
  }).length
}

/** `az` resource-group / name arguments for a remediation line. */
export const AZ_NAME = '--resource-group <rg> --name <name>'
