/** What `opsbook emulator start` prints: endpoints, the CA file, the client environment and a curl example. */
import type {RunningEmulator} from './server.js'
import {redisServerVersion} from './engines/redis.js'

export function describeEmulator(emulator: RunningEmulator): string[] {
  const pg = Object.values(emulatorComponents(emulator)).find(Boolean)
  const url = pg
    ? `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups/${pg.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${pg.name}?api-version=2025-08-01`
    : `${emulator.armEndpoint}/subscriptions/${emulator.subscription}/resourceGroups?api-version=2021-04-01`
  // ARM answers a request without a bearer token with 401 (server.ts checkBearerToken), so the recipe first asks the
  // emulator's token endpoint (the managed-identity protocol DefaultAzureCredential uses) for an ARM token, with the
  // IDENTITY_HEADER secret from the exports above. That secret is printed once, in the exports: a client process needs
  // it (as an App Service app gets it in its environment), and it only opens this loopback emulator's token endpoint.
  const example = [
    `TOKEN=$(curl -sf -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" ${shellQuote(`${emulator.identityEndpoint}?api-version=2019-08-01&resource=https://management.azure.com/`)} | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    `curl -s --cacert ${shellQuote(emulator.caFile)} -H "Authorization: Bearer $TOKEN" ${shellQuote(url)}`,
  ]
  return [
    `opsbook emulator (${emulator.environmentName}) is running — Ctrl-C stops it`,
    `  ARM endpoint:       ${emulator.armEndpoint}`,
    `  CA file:            ${emulator.caFile}`,
    `  Blob (Azurite):     ${emulator.blob.endpoint}  (account ${emulator.blob.account}, Azurite's well-known key)`,
    `  Identity endpoint:  ${emulator.identityEndpoint}`,
    `  Subscription:       ${emulator.subscription}`,
    ...redisDataPlaneLines(emulator),
    `  PostgreSQL data:    ${emulator.dataPlane.mode === 'real' ? `real PostgreSQL processes, each of its server's major (installed here: ${(emulator.dataPlane.postgresVersions ?? [emulator.dataPlane.postgresVersion ?? '?']).join(', ')}; a server of another major runs on the nearest, noted below), started when first used, WAL archived per server` : 'modelled (no database processes; set OPSBOOK_EMULATOR_DATA_PLANE=real or unset it)'}`,
    ...(emulator.dataPlane.load ? [`  Load generator:     on — rows and keys keep being written to ${emulator.dataPlane.load().map((l) => l.name).join(', ') || 'no server'} (--no-load turns it off)`] : []),
    ...emulator.dataPlane.notices.map((n) => `  note: ${n}`),
    '',
    'Environment for a client process (e.g. opsbook run in another shell):',
    ...Object.entries(emulator.env()).map(([k, v]) => `  export ${k}=${v}`),
    '',
    'Try in a shell with the exports above (ARM wants a bearer token, as in Azure: the first line gets one from the emulator\'s token endpoint):',
    ...example.map((line) => `  ${line}`),
  ]
}

/** A word for a POSIX shell: single-quoted unless it is plain. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

function emulatorComponents(emulator: RunningEmulator): Array<{name: string; resourceGroup: string} | undefined> {
  const servers = emulator.state.slice<{servers: Record<string, {resource: {name: string}; resourceGroup: string; resource_?: never}>}>('postgres')?.servers ?? {}
  return Object.values(servers)
    .filter((s) => !/Replica$/.test((s.resource as {properties?: {replicationRole?: string}}).properties?.replicationRole ?? ''))
    .map((s) => ({name: s.resource.name, resourceGroup: s.resourceGroup}))
}

/** Whether the caches are real redis-server processes or modelled, and what that means. */
function redisDataPlaneLines(emulator: RunningEmulator): string[] {
  const plane = emulator.state.slice<{dataPlane?: {engine?: string; modelled?: string}}>('redis')?.dataPlane
  if (!plane) return []
  return plane.engine
    ? [`  Redis data plane:   redis-server ${redisServerVersion(plane.engine) ?? '(version unknown)'}, one per cache, started when first used (TLS with the CA file)`]
    : [`  Redis data plane:   MODELLED — ${plane.modelled}`]
}
