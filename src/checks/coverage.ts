/**
 * What the checklist is measured against, for the coverage table in docs/checks.md.
 *
 * PSRule for Azure: the rules of the `Azure.GA_2025_12` baseline (Azure/PSRule.Rules.Azure,
 * docs/en/baselines/Azure.GA_2025_12.csv) whose names start with Azure.PostgreSQL, Azure.Redis, Azure.AppService,
 * Azure.Storage or Azure.KeyVault (Azure.RedisEnterprise excluded), plus the Azure.Defender plans for those services.
 *
 * CIS: the controls of the CIS Microsoft Azure Foundations Benchmark in the PostgreSQL, App Service, Key Vault,
 * Storage, logging and Defender sections that the research notes (from Prowler's cis_3.0/cis_6.0 mappings and
 * Steampipe's controls) name. This is not the benchmark's full control list — the benchmark text is not public —
 * so the CIS percentage is against this list and says so.
 */

/** PSRule GA_2025_12 rules for the five services, with their pillar. */
export const PSRULE_GA_RULES: Array<{id: string; pillar: string; naming?: true}> = [
  ...['AlwaysOn:Reliability', 'ARRAffinity:Performance Efficiency', 'AvailabilityZone:Reliability', 'HTTP2:Performance Efficiency', 'ManagedIdentity:Security', 'MinPlan:Performance Efficiency',
    'MinTLS:Security', 'NETVersion:Security', 'NodeJsVersion:Security', 'PHPVersion:Security', 'PlanInstanceCount:Reliability', 'RemoteDebug:Security', 'UseHTTPS:Security',
    'WebProbe:Reliability', 'WebProbePath:Reliability', 'WebSecureFtp:Security'].map((r) => rule('AppService', r)),
  ...['AccessPolicy:Security', 'AutoRotationPolicy:Security', 'Firewall:Security', 'KeyName:Operational Excellence:naming', 'Logs:Security', 'Name:Operational Excellence:naming',
    'PurgeProtect:Reliability', 'RBAC:Security', 'SecretName:Operational Excellence:naming', 'SoftDelete:Reliability'].map((r) => rule('KeyVault', r)),
  ...['AAD:Security', 'AADOnly:Security', 'AllowAzureAccess:Security', 'DefenderCloud:Security', 'FirewallIPRange:Security', 'FirewallRuleCount:Security', 'GeoRedundantBackup:Reliability',
    'MaintenanceWindow:Reliability', 'MinTLS:Security', 'ServerName:Operational Excellence:naming', 'ServerNaming:Operational Excellence:naming', 'UseSSL:Security', 'ZoneRedundantHA:Reliability'].map((r) => rule('PostgreSQL', r)),
  ...['AvailabilityZone:Reliability', 'EntraID:Security', 'FirewallIPRange:Security', 'FirewallRuleCount:Security', 'LocalAuth:Security', 'MaxMemoryReserved:Performance Efficiency',
    'MigrateAMR:Operational Excellence', 'MinSKU:Performance Efficiency', 'MinTLS:Security', 'Naming:Operational Excellence:naming', 'NonSslPort:Security', 'PublicNetworkAccess:Security', 'Version:Reliability'].map((r) => rule('Redis', r)),
  ...['BlobAccessType:Security', 'BlobPublicAccess:Security', 'ContainerSoftDelete:Reliability', 'Defender.MalwareScan:Security', 'DefenderCloud:Security', 'FileShareSoftDelete:Reliability',
    'Firewall:Security', 'LocalAuth:Security', 'MinTLS:Security', 'Name:Operational Excellence:naming', 'Naming:Operational Excellence:naming', 'SecureTransfer:Security', 'SoftDelete:Reliability',
    'UseReplication:Reliability'].map((r) => rule('Storage', r)),
  ...['AppServices', 'KeyVault', 'OssRdb', 'Storage'].map((r) => ({id: `Azure.Defender.${r}`, pillar: 'Security'})),
]

function rule(service: string, spec: string): {id: string; pillar: string; naming?: true} {
  const [name, pillar, naming] = spec.split(':')
  return {id: `Azure.${service}.${name}`, pillar: pillar!, ...(naming ? {naming: true as const} : {})}
}

/**
 * CIS controls in scope (F3 = Foundations v3.0, F6 = v6.0), with the notes' short titles. Every number is checked
 * against Prowler's mappings of the benchmarks (prowler-cloud/prowler prowler/compliance/azure/cis_3.0_azure.json and
 * cis_6.0_azure.json, read at 3e000faa3109230b748e4418a13c11c9e59f5cfb; cis_6.0 last changed in dc432c8c): stop 25
 * corrected the numbers that had been written from memory (Defender plans are 8.1.5.1 Storage, 8.1.6.1 App Services,
 * 8.1.7.2 open-source relational databases, 8.1.8.1 Key Vault, 8.1.9.1 Resource Manager; certificate validity is
 * 8.3.11; Entra authorization by default is 9.3.3.1; resource logging is 6.1.4 — 6.1.1.1 is the subscription Activity
 * Log; App Service HTTP logs is F3 6.1.6 — v6.0 has no such control, its 6.1.1.6 is VNet flow logs; v6.0 9.3.5 is
 * "Allow trusted Microsoft services", and no v6.0 control asks for a SAS expiration policy).
 * `unverified`: a number not found in those mappings (none at present); docs/checks.md marks it with †.
 */
export const CIS_CONTROLS: Array<{id: string; title: string; unverified?: true}> = [
  {id: 'F3 5.2.1', title: "PostgreSQL flexible: 'require_secure_transport' is ON"},
  {id: 'F3 5.2.2', title: "PostgreSQL flexible: 'log_checkpoints' is ON"},
  {id: 'F3 5.2.3', title: "PostgreSQL flexible: 'connection_throttle.enable' is ON"},
  {id: 'F3 5.2.4', title: "PostgreSQL flexible: 'logfiles.retention_days' greater than 3"},
  {id: 'F3 5.2.5', title: 'PostgreSQL flexible: allow access to Azure services is disabled'},
  // v3.0 words 5.2.6/5.2.7 for single server ([LEGACY]); Prowler maps its flexible-server checks to them.
  {id: 'F3 5.2.6', title: "PostgreSQL: 'log_connections' is ON ([LEGACY] single-server control; Prowler maps the flexible-server check)"},
  {id: 'F3 5.2.7', title: "PostgreSQL: 'log_disconnections' is ON ([LEGACY] single-server control; Prowler maps the flexible-server check)"},
  {id: 'F3 9.1', title: 'App Service: HTTP redirects to HTTPS'},
  {id: 'F3 9.2', title: 'App Service: authentication is set up'},
  {id: 'F3 9.3', title: 'App Service: FTP deployments disabled'},
  {id: 'F3 9.4', title: 'App Service: latest TLS version'},
  {id: 'F3 9.5', title: 'App Service: registered with Microsoft Entra ID (managed identity)'},
  {id: 'F3 9.6', title: 'App Service: basic authentication publishing credentials disabled'},
  {id: 'F3 9.10', title: 'App Service: HTTP/2 enabled'},
  {id: 'F3 9.12', title: 'App Service: remote debugging off'},
  {id: 'F3 6.1.6', title: "App Service 'HTTP logs' enabled"},
  {id: 'F6 6.1.4', title: 'Azure Monitor resource logging enabled for all services that support it'},
  {id: 'F6 6.1.1.4', title: 'Key Vault logging (AuditEvent) enabled'},
  {id: 'F6 6.1.5', title: 'SKU Basic/Consumption not used on artifacts that need monitoring'},
  {id: 'F6 6.2', title: 'Resource locks on mission-critical resources'},
  {id: 'F6 8.1.5.1', title: 'Defender for Storage on'},
  {id: 'F6 8.1.6.1', title: 'Defender for App Services on'},
  {id: 'F6 8.1.7.2', title: 'Defender for open-source relational databases on'},
  {id: 'F6 8.1.8.1', title: 'Defender for Key Vault on'},
  {id: 'F6 8.1.9.1', title: 'Defender for Resource Manager on'},
  {id: 'F6 8.3.1', title: 'Key Vault (RBAC): keys have an expiration date'},
  {id: 'F6 8.3.2', title: 'Key Vault (access policies): keys have an expiration date'},
  {id: 'F6 8.3.3', title: 'Key Vault (RBAC): secrets have an expiration date'},
  {id: 'F6 8.3.4', title: 'Key Vault (access policies): secrets have an expiration date'},
  {id: 'F6 8.3.5', title: 'Key Vault is recoverable (purge protection)'},
  {id: 'F6 8.3.6', title: 'Key Vault uses Azure RBAC'},
  {id: 'F6 8.3.7', title: 'Key Vault public network access disabled'},
  {id: 'F6 8.3.8', title: 'Key Vault private endpoints used'},
  {id: 'F6 8.3.9', title: 'Key Vault automatic key rotation enabled'},
  {id: 'F6 8.3.11', title: 'Key Vault certificate validity 12 months or less'},
  {id: 'F6 9.2.1', title: 'Blob soft delete enabled'},
  {id: 'F6 9.2.2', title: 'Container soft delete enabled'},
  {id: 'F6 9.2.3', title: 'Blob versioning enabled'},
  {id: 'F6 9.3.1.1', title: 'Storage key rotation reminders (key expiration policy)'},
  {id: 'F6 9.3.1.2', title: 'Storage access keys periodically regenerated'},
  {id: 'F6 9.3.1.3', title: 'Storage shared key authorization disabled'},
  {id: 'F6 9.3.2.1', title: 'Storage private endpoints used'},
  {id: 'F6 9.3.2.2', title: 'Storage public network access disabled'},
  {id: 'F6 9.3.2.3', title: 'Storage default network access rule is Deny'},
  {id: 'F6 9.3.3.1', title: 'Storage defaults to Microsoft Entra authorization in the portal'},
  {id: 'F6 9.3.4', title: 'Storage secure transfer required'},
  {id: 'F6 9.3.5', title: "Storage 'Allow trusted Microsoft services to access this resource' enabled"},
  {id: 'F6 9.3.6', title: 'Storage minimum TLS 1.2'},
  {id: 'F6 9.3.7', title: 'Storage cross-tenant replication disabled'},
  {id: 'F6 9.3.8', title: 'Storage anonymous blob access disabled'},
  {id: 'F6 9.3.9', title: 'Storage delete lock'},
]

/**
 * The Azure Policy built-ins (first 8 hex digits, as in `frameworks.defender`) that checks cite and that Defender for
 * Cloud assigns, i.e. that surface as Defender recommendations: members of the "Microsoft cloud security benchmark"
 * initiative 1f3afdf9 (v57.56.0, Defender's default) or of "[Preview]: Microsoft cloud security benchmark v2" e3ec7e09
 * (v1.3.0-preview) — Azure/azure-policy built-in-policies/policySetDefinitions/Security Center/AzureSecurityCenter.json
 * and MCSBv2.json at 059adee2bf9b659d8de0de99554cc76a6b5a531e. A cited id outside this list is an Azure Policy
 * built-in only (Defender shows it once someone assigns it); docs/checks.md marks those with ‡.
 */
export const DEFENDER_INITIATIVE_POLICIES: ReadonlySet<string> = new Set([
  '044985bb', '0a075868', '0a9fbe0d', '0b60c0b2', '0e6763cc', '12d4fa5e', '152b15f7', '19dd1db6', '1b5ef780', '1b8ca024', '22bee202',
  '2913021d', '2b9ad585', '32e6bbec', '34c877ad', '404c3081', '405c5871', '470baccb', '4a15c15f', '4d24b6d4', '4ee5b817', '4fa4b6c0',
  '5450f5bd', '55615ac9', '5744710e', '5e1de0e3', '640d2586', '679da822', '687aa49d', '6edd7eda', '701a595d', '7803067c', '797b37f7',
  '871b205b', '8c6a50c6', '91a78b24', '98728c90', 'a43d5475', 'a4af4a39', 'a6abeaec', 'abda6d70', 'aede300b', 'b2982f36', 'b3a22bc9',
  'c3d20c29', 'cb510bfd', 'cbd11fd3', 'cf820ca0', 'd8cf8476', 'f0e6e85b', 'f772fb64', 'fa498b91', 'fe83a0eb',
])
