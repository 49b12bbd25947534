/**
 * What a generated CI pipeline contains, independent of the CI engine: one drill job per (environment, window
 * group), one security-check job per environment, and a final evidence job that exports every environment's runs
 * from its Blob evidence container (the state the jobs share) into one bundle per environment.
 */
import type {Catalog, Environment} from '../catalog/schema.js'
import {ValidationError} from '../errors.js'
import {drillGroups, groupCronLines, type DrillGroup} from './groups.js'
import type {Cadence, CronLine} from './schedule.js'

export interface PipelineEnvironment {
  name: string
  environment: Environment
  groups: DrillGroup[]
}

export interface PipelineModel {
  environments: PipelineEnvironment[]
  /** `quarterly`, `monthly` or the user's own cron. */
  schedule: Cadence | string
  /** Every cron line, once, with the jobs it is meant for. */
  cronLines: Array<CronLine & {jobs: string[]}>
  catalogFile: string
  warnings: string[]
}

export function buildPipelineModel(options: {catalog: Catalog; catalogFile: string; envNames?: string[]; schedule: Cadence | string}): PipelineModel {
  const names = options.envNames && options.envNames.length > 0 ? options.envNames : Object.keys(options.catalog.environments)
  const unknown = names.filter((n) => !options.catalog.environments[n])
  if (unknown.length > 0)
    throw new ValidationError(unknown.map((n) => ({code: 'unknown-environment', message: `--env ${n}: no such environment; the catalog has ${Object.keys(options.catalog.environments).join(', ')}`})))
  const warnings: string[] = []
  const environments: PipelineEnvironment[] = names.map((name) => {
    const environment = options.catalog.environments[name]!
    const groups = drillGroups(environment)
    if (groups.length === 0) warnings.push(`${name}: no PostgreSQL server, Redis cache or web app to drill`)
    for (const group of groups)
      if (!group.window && environment.production)
        warnings.push(`${name}: ${group.components.join(', ')} ha${group.components.length > 1 ? 've' : 's'} no maintenance window; a production drill of ${group.components.length > 1 ? 'them' : 'it'} is blocked (exit 5) until one is declared, so the job skips`)
    if (environment.cloud === 'azure' && !environment.evidence) warnings.push(`${name}: no evidence container in the catalog: the evidence job has nothing to export`)
    return {name, environment, groups}
  })
  const byCron = new Map<string, CronLine & {jobs: string[]}>()
  for (const env of environments)
    for (const group of env.groups)
      for (const line of groupCronLines(group, options.schedule)) {
        const entry = byCron.get(line.cron) ?? {...line, jobs: []}
        entry.jobs.push(drillJobId(env.name, group.name))
        byCron.set(line.cron, entry)
      }
  if (options.schedule !== 'quarterly' && options.schedule !== 'monthly' && environments.some((e) => e.groups.some((g) => g.window)))
    warnings.push('a custom --schedule is not aligned with the maintenance windows: jobs whose window is closed when it fires skip the drill')
  return {environments, schedule: options.schedule, cronLines: [...byCron.values()], catalogFile: options.catalogFile, warnings}
}

export function drillJobId(envName: string, groupName: string): string {
  return `drill-${envName}-${groupName}`.replace(/[^A-Za-z0-9_-]/g, '-')
}

/** `--component a --component b`: the flags that restrict `run dr-drill` and `ci gate` to a group. */
export function componentFlags(group: DrillGroup): string {
  return group.components.map((c) => `--component ${c}`).join(' ')
}

/** `--catalog <file>` when the catalog is not the default runbooks.yaml at the repository root. */
export function catalogFlag(model: PipelineModel): string {
  return model.catalogFile === 'runbooks.yaml' ? '' : ` --catalog ${model.catalogFile}`
}
