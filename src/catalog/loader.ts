/**
 * Finding and loading the catalog. Order: --catalog, OPSBOOK_CATALOG, then runbooks.yaml found by walking up
 * from the working directory (./locate.ts, which loads neither zod nor the YAML parser). Every problem comes back at
 * once with file:line:col (exit 2).
 */
import {createHash} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {ValidationError, type Problem} from '../errors.js'
import {parseYamlSource, readSourceFile, zodProblems, type YamlSource} from '../support/yaml-source.js'
import {hintIssues, withFieldHint} from './hints.js'
import {CATALOG_FILE, findCatalog} from './locate.js'
import {catalogSchema, type Catalog, type Component, type Environment} from './schema.js'

export {CATALOG_FILE, findCatalog, projectDir} from './locate.js'

export interface LoadedCatalog {
  file: string
  /** Folder of the catalog file; relative paths in it resolve from here. */
  dir: string
  catalog: Catalog
  /** SHA-256 of the file's bytes, recorded in every run summary. */
  sha256: string
  source: YamlSource
}

export function loadCatalog(options: {flag?: string; cwd?: string; env?: NodeJS.ProcessEnv} = {}): LoadedCatalog {
  const file = findCatalog(options)
  if (!file)
    throw new ValidationError(
      [{code: 'catalog-not-found', message: `no ${CATALOG_FILE} found in ${options.cwd ?? process.cwd()} or any parent folder; pass --catalog <file> or set OPSBOOK_CATALOG`}],
    )
  if (!existsSync(file)) throw new ValidationError([{code: 'catalog-not-found', message: `catalog file not found: ${file}`}])
  const read = readSourceFile(file, 'catalog')
  if ('problem' in read) throw new ValidationError([read.problem])
  return parseCatalog(file, read.text)
}

export function parseCatalog(file: string, text: string): LoadedCatalog {
  const source = parseYamlSource(file, text)
  const problems: Problem[] = [...source.problems]
  let catalog: Catalog | undefined
  if (source.value !== undefined) {
    const parsed = catalogSchema.safeParse(withoutExtensionFields(source.value ?? {}))
    if (parsed.success) {
      catalog = withoutPrototypes(parsed.data)
      problems.push(...crossReferenceProblems(catalog, source))
      // A runbooksDir that is a file (or a device): every command that lists runbooks failed with a bare
      // "ENOTDIR: not a directory, scandir" and exit 1 (adversary8). A folder that does not exist yet holds no runbooks.
      const runbooksDir = catalog.runbooksDir === undefined ? undefined : resolve(dirname(file), catalog.runbooksDir)
      if (runbooksDir !== undefined && existsSync(runbooksDir) && !statSync(runbooksDir).isDirectory())
        problems.push({location: source.locate(['runbooksDir']), code: 'invalid-value', message: `runbooksDir ${runbooksDir} is not a folder; it names the folder holding your own runbooks`})
    } else {
      // Typo help: the closest allowed field or value, and a missing field said as such.
      const issues = hintIssues(parsed.error.issues, source.value)
      problems.push(...zodProblems({issues} as typeof parsed.error, source).map((p) => withFieldHint(p, issues, catalogSchema, source.value)))
    }
  }
  if (problems.length > 0 || !catalog) throw new ValidationError(problems, `catalog ${file} is invalid:`)
  return {file, dir: dirname(file), catalog, sha256: createHash('sha256').update(text).digest('hex'), source}
}

/** Top-level keys starting with `x-` hold YAML anchors for reuse (as in Docker Compose files); they are not catalog fields. */
export const EXTENSION_FIELD = /^x-/

function withoutExtensionFields(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => !EXTENSION_FIELD.test(key)))
}

/**
 * The catalog's maps of names (environments, components, windows) without a prototype: a name looked up there is a
 * name of the catalog, never an Object method — `--env constructor` or `--param server=toString` found
 * Object.prototype's function and crashed ("Cannot read properties of undefined") instead of saying the name is unknown.
 */
function withoutPrototypes(catalog: Catalog): Catalog {
  Object.setPrototypeOf(catalog.environments, null)
  for (const env of Object.values(catalog.environments)) {
    Object.setPrototypeOf(env.components, null)
    Object.setPrototypeOf(env.windows, null)
  }
  return catalog
}

/** Checks the schema cannot express: references between parts of the catalog. */
function crossReferenceProblems(catalog: Catalog, source: YamlSource): Problem[] {
  const problems: Problem[] = []
  for (const [envName, env] of Object.entries(catalog.environments)) {
    for (const [key, component] of Object.entries(env.components)) {
      const path = ['environments', envName, 'components', key]
      const named: Array<{name: string; at: Array<string | number>}> = [
        ...(component.window ? [{name: component.window, at: [...path, 'window']}] : []),
        ...(component.windows ?? []).map((name, index) => ({name, at: [...path, 'windows', index]})),
      ]
      for (const {name, at} of named)
        if (!env.windows[name])
          problems.push({
            location: source.locate(at),
            code: 'unknown-window',
            message: `component "${key}" names maintenance window "${name}", which environment "${envName}" does not define (defined: ${Object.keys(env.windows).join(', ') || 'none'})`,
          })
      if (component.resourceGroup && !env.resourceGroups.includes(component.resourceGroup))
        problems.push({
          location: source.locate([...path, 'resourceGroup']),
          code: 'unknown-resource-group',
          message: `component "${key}" is in resource group "${component.resourceGroup}", which is not listed in environments.${envName}.resourceGroups`,
        })
      // Traffic Manager endpoints and Front Door origins that name a catalog web app must name one of this environment.
      const webappRefs: Array<{name: string; at: Array<string | number>}> =
        component.type === 'trafficmanager'
          ? component.endpoints.flatMap((e, i) => (e.webapp ? [{name: e.webapp, at: [...path, 'endpoints', i, 'webapp']}] : []))
          : component.type === 'frontdoor'
            ? component.originGroups.flatMap((g, gi) => g.origins.flatMap((o, oi) => (o.webapp ? [{name: o.webapp, at: [...path, 'originGroups', gi, 'origins', oi, 'webapp']}] : [])))
            : []
      for (const {name, at} of webappRefs)
        if (env.components[name]?.type !== 'webapp')
          problems.push({
            location: source.locate(at),
            code: 'unknown-component',
            message: `component "${key}" routes to "${name}", which is not a webapp component of environment "${envName}" (webapps: ${Object.entries(env.components).filter(([, c]) => c.type === 'webapp').map(([k]) => k).join(', ') || 'none'})`,
          })
      if (component.type === 'postgres' && component.objectives?.crossRegion && !env.pairedRegion)
        problems.push({
          location: source.locate([...path, 'objectives', 'crossRegion']),
          code: 'missing-paired-region',
          message: `component "${key}" has a cross-region objective but environment "${envName}" has no pairedRegion`,
        })
    }
    for (const [index, freeze] of env.freezes.entries())
      if (Date.parse(freeze.until) <= Date.parse(freeze.from))
        problems.push({location: source.locate(['environments', envName, 'freezes', index, 'until']), code: 'invalid-value', message: 'a change freeze must end after it starts'})
  }
  return problems
}

/** The named environment, or a ValidationError listing the ones that exist. */
export function getEnvironment(loaded: LoadedCatalog, name: string): Environment {
  const env = loaded.catalog.environments[name]
  if (!env)
    throw new ValidationError([
      {code: 'unknown-environment', message: `unknown environment "${name}" in ${loaded.file} (known: ${Object.keys(loaded.catalog.environments).join(', ')})`},
    ])
  return env
}

/** Resource group of a component, defaulting to the environment's first. */
export function resourceGroupOf(env: Environment, component: Pick<Component, 'resourceGroup'>): string {
  return component.resourceGroup ?? env.resourceGroups[0]!
}
