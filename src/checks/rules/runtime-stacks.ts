/**
 * End of support of App Service language runtimes. App Service follows each language's own community support
 * lifecycle ("Language runtime support policy for App Service", learn.microsoft.com/azure/app-service/language-support-policy);
 * the dates below are those projects' published end-of-life dates. Update this table when a new version ships.
 */

interface StackEnd {
  /** Lower-case stack name as `linuxFxVersion` spells it (`NODE|20-lts` → node). */
  stack: string
  /** Major (and minor, for Python/PHP) version as written after the `|`. */
  version: string
  endOfSupport: string
}

const END_OF_SUPPORT: StackEnd[] = [
  // Node.js release schedule (github.com/nodejs/release).
  {stack: 'node', version: '14', endOfSupport: '2023-04-30'},
  {stack: 'node', version: '16', endOfSupport: '2023-09-11'},
  {stack: 'node', version: '18', endOfSupport: '2025-04-30'},
  {stack: 'node', version: '20', endOfSupport: '2026-04-30'},
  {stack: 'node', version: '22', endOfSupport: '2027-04-30'},
  {stack: 'node', version: '24', endOfSupport: '2028-04-30'},
  // Python (devguide.python.org/versions).
  {stack: 'python', version: '3.7', endOfSupport: '2023-06-27'},
  {stack: 'python', version: '3.8', endOfSupport: '2024-10-07'},
  {stack: 'python', version: '3.9', endOfSupport: '2025-10-31'},
  {stack: 'python', version: '3.10', endOfSupport: '2026-10-31'},
  {stack: 'python', version: '3.11', endOfSupport: '2027-10-31'},
  {stack: 'python', version: '3.12', endOfSupport: '2028-10-31'},
  {stack: 'python', version: '3.13', endOfSupport: '2029-10-31'},
  // PHP (php.net/supported-versions.php).
  {stack: 'php', version: '8.0', endOfSupport: '2023-11-26'},
  {stack: 'php', version: '8.1', endOfSupport: '2025-12-31'},
  {stack: 'php', version: '8.2', endOfSupport: '2026-12-31'},
  {stack: 'php', version: '8.3', endOfSupport: '2027-12-31'},
  {stack: 'php', version: '8.4', endOfSupport: '2028-12-31'},
  // .NET (dotnet.microsoft.com/platform/support/policy/dotnet-core).
  {stack: 'dotnetcore', version: '6.0', endOfSupport: '2024-11-12'},
  {stack: 'dotnetcore', version: '7.0', endOfSupport: '2024-05-14'},
  {stack: 'dotnetcore', version: '8.0', endOfSupport: '2026-11-10'},
  {stack: 'dotnetcore', version: '9.0', endOfSupport: '2026-11-10'},
  {stack: 'dotnetcore', version: '10.0', endOfSupport: '2028-11-14'},
  {stack: 'dotnet', version: '5', endOfSupport: '2022-05-10'},
  {stack: 'dotnet', version: '6', endOfSupport: '2024-11-12'},
  {stack: 'dotnet', version: '7', endOfSupport: '2024-05-14'},
  {stack: 'dotnet', version: '8', endOfSupport: '2026-11-10'},
  {stack: 'dotnet', version: '9', endOfSupport: '2026-11-10'},
  {stack: 'dotnet', version: '10', endOfSupport: '2028-11-14'},
]

export interface RuntimeStack {
  label: string
  endOfSupport: string
  ended: boolean
}

/** The configured stacks with a known end of support, and whether it has passed at `now`. */
export function endOfLife(siteConfig: Record<string, unknown>, now: Date): RuntimeStack[] {
  const found: Array<{stack: string; version: string; label: string}> = []
  for (const key of ['linuxFxVersion', 'windowsFxVersion']) {
    const value = String(siteConfig[key] ?? '')
    const m = /^([A-Za-z]+)\|v?([\d.]+)/.exec(value)
    if (m) found.push({stack: m[1]!.toLowerCase(), version: m[2]!, label: value})
  }
  // Windows apps name the version per language (SiteConfig.nodeVersion / phpVersion / pythonVersion); `~20` = 20.x.
  for (const [key, stack] of [['nodeVersion', 'node'], ['phpVersion', 'php'], ['pythonVersion', 'python']] as const) {
    const value = String(siteConfig[key] ?? '').replace(/^~/, '')
    if (/^\d/.test(value)) found.push({stack, version: value, label: `${key} ${value}`})
  }
  // Windows .NET apps name the version in netFrameworkVersion: `v4.0` is .NET Framework 4.x, supported with Windows
  // itself (not tracked here); `v5.0` and later are .NET (PSRule Azure.AppService.NETVersion reads the same property,
  // "Version($siteConfig, 'properties.netFrameworkVersion', '4.0 || >=8.0')", rules/Azure.AppService.Rule.ps1).
  const framework = /^v?(\d+)(?:\.\d+)*$/i.exec(String(siteConfig.netFrameworkVersion ?? '').trim())
  if (framework && Number(framework[1]) >= 5) found.push({stack: 'dotnet', version: framework[1]!, label: `netFrameworkVersion ${siteConfig.netFrameworkVersion}`})
  const stacks: RuntimeStack[] = []
  for (const f of found) {
    const entry = END_OF_SUPPORT.find((e) => e.stack === f.stack && (f.version === e.version || f.version.startsWith(`${e.version}.`) || f.version.startsWith(`${e.version}-`) || (e.stack === 'node' && f.version.split('.')[0] === e.version)))
    if (entry) stacks.push({label: f.label, endOfSupport: entry.endOfSupport, ended: Date.parse(`${entry.endOfSupport}T23:59:59Z`) < now.getTime()})
  }
  return stacks
}
