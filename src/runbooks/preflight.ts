/**
 * Preflight: what must hold before a run's first step — and before its journal exists — so that a run that cannot
 * work never starts: an identity (which principal, from which source), the subscription and resource groups readable,
 * every permission the plan lists held on the scope it is used on (asked of Azure's permissions API, see
 * src/azure/permissions.ts). A failure is one message saying what to do, exit 6 (nothing was started). Leases and the
 * evidence container are checked where they are taken (session.ts), also before the journal is opened.
 * Shared by `run`, `plan --check-access` and `opsbook doctor`. No oclif, no terminal.
 */
import type {AzureServices, SignedInIdentity} from '../azure/clients.js'
import {granted, isDataAction, listPermissions, resourceGroupScope, roleGranting, type RolePermission} from '../azure/permissions.js'
import type {Environment} from '../catalog/schema.js'
import {ExitCode, OpsbookError} from '../errors.js'
import type {RunPlan} from './plan.js'
import type {PreparedRun} from './runner.js'
import {shellQuote} from '../support/resume-hint.js'

/** ARM api-versions used to read the subscription and its resource groups (Subscriptions - Get, Resource Groups - Get). */
const SUBSCRIPTION_API = '2022-12-01'
const RESOURCE_GROUP_API = '2024-11-01'

export interface AccessCheck {
  /** Step id (`evidence` for the journal upload and leases). */
  step: string
  uses: string
  permission: string
  /** Resource group scope the permission is needed on. */
  scope: string
  granted: boolean
  /** A built-in role that grants it (for the fix). */
  role?: string
  dataAction: boolean
}

export interface AccessReport {
  principal: string
  /**
   * Who a role assignment would name: the identity's object id (from its token), else its sign-in name or app id —
   * what `az role assignment create --assignee` takes. The fix printed with exit 6 names it, not `<principal>`.
   */
  assignee: string
  checks: AccessCheck[]
  missing: AccessCheck[]
}

/** Not ready to run here: no access to the subscription, a resource group, or a permission a step needs. Exit 6. */
export class NotReadyError extends OpsbookError {
  readonly details: Record<string, unknown>
  constructor(message: string, code: string, suggestions: string[], details: Record<string, unknown> = {}) {
    super(message, {exitCode: ExitCode.notReady, code, suggestions})
    this.details = details
  }

  override toJSON(): Record<string, unknown> {
    return {...super.toJSON(), details: this.details}
  }
}

/** Identity obtained (CredentialError, exit 6, otherwise), then the subscription and every resource group read. */
export async function checkIdentityAndScopes(services: AzureServices, environment: Environment, signal?: AbortSignal): Promise<SignedInIdentity> {
  const identity = await services.identity()
  const subscription = await services.armRequest('GET', `/subscriptions/${services.subscription}`, {apiVersion: SUBSCRIPTION_API, signal})
  if (subscription.status !== 200)
    throw new NotReadyError(
      `${identity.display} (${identity.source}) cannot read subscription ${services.subscription}: ${armFailure(subscription)}`,
      'subscription-unreadable',
      [
        subscription.status === 404
          ? 'check `subscription:` in the catalog, and that the identity is in the subscription\'s tenant (`az account list`)'
          : `grant ${identity.display} the Reader role on the subscription: az role assignment create --assignee ${assigneeOf(identity)} --role Reader --scope /subscriptions/${services.subscription}`,
      ],
      {subscription: services.subscription, status: subscription.status},
    )
  for (const group of environment.resourceGroups) {
    const response = await services.armRequest('GET', `/subscriptions/${services.subscription}/resourceGroups/${group}`, {apiVersion: RESOURCE_GROUP_API, signal})
    if (response.status !== 200)
      throw new NotReadyError(
        `${identity.display} cannot read resource group ${group}: ${armFailure(response)}`,
        'resource-group-unreadable',
        [
          response.status === 404
            ? `check \`resourceGroups:\` in the catalog (no group "${group}" in subscription ${services.subscription})`
            : `grant ${identity.display} Reader (at least) on the resource group: az role assignment create --assignee ${assigneeOf(identity)} --role Reader --scope /subscriptions/${services.subscription}/resourceGroups/${group}`,
        ],
        {resourceGroup: group, status: response.status},
      )
  }
  return identity
}

/**
 * Every permission of the plan (steps, rollbacks, evidence upload) against what the caller holds on the resource
 * group it is used in: the scope of the step's ARM calls, else the environment's first group; evidence permissions
 * on the evidence account's group. One permissions request per scope.
 */
export async function checkAccess(plan: RunPlan, environment: Environment, services: AzureServices, signal?: AbortSignal): Promise<AccessReport> {
  const identity = await services.identity()
  const fallback = `/subscriptions/${services.subscription}/resourceGroups/${environment.resourceGroups[0]}`
  const needs: Array<Omit<AccessCheck, 'granted' | 'role' | 'dataAction'>> = []
  // A step whose condition is already false (a classic cache's Managed Redis steps, a drill-only teardown) will not
  // run: asking for its permissions would refuse a least-privilege operator (exit 6) for nothing.
  for (const step of plan.steps.filter((s) => !s.notRun))
    for (const call of [step, ...(step.rollback ? [step.rollback] : [])]) {
      const scopes = [...new Set(call.arm.map((a) => resourceGroupScope(a.path)).filter((s): s is string => Boolean(s)))]
      for (const permission of call.permissions) for (const scope of scopes.length > 0 ? scopes : [fallback]) needs.push({step: step.id, uses: call.uses, permission, scope})
    }
  if (plan.evidence && environment.evidence) {
    const group = environment.evidence.resourceGroup ?? environment.resourceGroups[0]
    for (const permission of plan.evidence.permissions) needs.push({step: 'evidence', uses: `evidence → ${plan.evidence.container}`, permission, scope: `/subscriptions/${services.subscription}/resourceGroups/${group}`})
  }
  const byScope = new Map<string, Promise<RolePermission[]>>()
  const held = (scope: string) => {
    const key = scope.toLowerCase()
    if (!byScope.has(key)) byScope.set(key, listPermissions((method, path, options) => services.armRequest(method, path, {...options, signal}), scope, signal))
    return byScope.get(key)!
  }
  const checks: AccessCheck[] = []
  const seen = new Set<string>()
  for (const need of needs) {
    const key = `${need.step}|${need.permission}|${need.scope}`.toLowerCase()
    if (seen.has(key)) continue
    seen.add(key)
    let entries: RolePermission[]
    try {
      entries = await held(need.scope)
    } catch (error) {
      throw new NotReadyError(
        `cannot check ${identity.display}'s permissions: ${(error as Error).message}`,
        'permissions-unreadable',
        ['the identity needs Microsoft.Authorization/permissions/read (every built-in role includes it, Reader too) on the resource groups'],
        {scope: need.scope},
      )
    }
    const ok = granted(entries, need.permission)
    checks.push({...need, granted: ok, dataAction: isDataAction(need.permission), ...(ok ? {} : {role: roleGranting(need.permission)?.name})})
  }
  return {principal: `${identity.display} (${identity.source})`, assignee: assigneeOf(identity), checks, missing: checks.filter((c) => !c.granted)}
}

/** The refusal for missing permissions: each step, action, scope and a built-in role that grants it. */
export function missingPermissionsError(report: AccessReport, runbook: string): NotReadyError {
  const lines = report.missing.map((m) => `  step ${m.step} (${m.uses}) needs ${m.permission}${m.dataAction ? ' (data action)' : ''} on ${m.scope}${m.role ? ` — granted by the built-in role "${m.role}"` : ''}`)
  const fixes = new Map<string, string>()
  for (const m of report.missing) {
    // No built-in role grants it: a custom role must hold it, and its name is the user's to choose.
    const fix = m.role
      ? `az role assignment create --assignee ${report.assignee} --role "${m.role}" --scope ${m.scope}`
      : `no built-in role grants ${m.permission}: put it in a custom role (az role definition create), then az role assignment create --assignee ${report.assignee} --role <your custom role> --scope ${m.scope}`
    fixes.set(fix, fix)
  }
  return new NotReadyError(
    [`${report.principal} lacks ${report.missing.length} permission(s) runbook ${runbook} needs; nothing was started:`, ...lines].join('\n'),
    'missing-permission',
    [...fixes.values()],
    {missing: report.missing, assignee: report.assignee},
  )
}

/**
 * What `az role assignment create --assignee` takes for this identity: its object id, else its sign-in name or app id
 * ("--assignee: Represent a user, group, or service principal. supported format: object id, user sign-in name, or
 * service principal name": https://learn.microsoft.com/cli/azure/role/assignment#az-role-assignment-create).
 */
function assigneeOf(identity: Pick<SignedInIdentity, 'objectId' | 'upn' | 'appId' | 'display'>): string {
  return shellQuote(identity.objectId ?? identity.upn ?? identity.appId ?? identity.display)
}

function armFailure(response: {status: number; body: any}): string {
  const error = response.body?.error
  return error ? `${error.code} (HTTP ${response.status}): ${error.message}` : `HTTP ${response.status}`
}

/**
 * `plan --check-access`: connect (the emulator for `cloud: emulator`, else Azure), sign in, and check every permission
 * of the plan. Throws CredentialError / NotReadyError (exit 6) when it cannot even ask.
 */
export async function checkPlanAccess(prepared: Pick<PreparedRun, 'loaded' | 'envName' | 'environment'>, plan: RunPlan, cwd = process.cwd()): Promise<AccessReport> {
  const {loaded, envName, environment} = prepared
  let emulator: (import('../azure/clients.js').EmulatorEndpoints & {stop(): Promise<void>}) | undefined
  if (environment.cloud === 'emulator') {
    const {connectOrStartEmulator} = await import('../emulator/connect.js')
    emulator = await connectOrStartEmulator({cwd, catalogFile: loaded.file, environmentName: envName, environment})
  }
  try {
    const {createAzureServices} = await import('../azure/clients.js')
    const services = createAzureServices({environment, environmentName: envName, emulator})
    await checkIdentityAndScopes(services, environment)
    return await checkAccess(plan, environment, services)
  } finally {
    await emulator?.stop()
  }
}

/** The access report as text: granted permissions counted, each missing one named with a role that grants it. */
export function renderAccess(report: AccessReport): string {
  const lines = [`Access for ${report.principal}: ${report.checks.length - report.missing.length} of ${report.checks.length} permission(s) held`]
  for (const m of report.missing) lines.push(`  ✖ ${m.step} (${m.uses}): ${m.permission} on ${m.scope}${m.role ? ` — built-in role "${m.role}" grants it` : ''}`)
  return lines.join('\n')
}
