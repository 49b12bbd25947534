import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'

export interface EmulatorStartResult {
  armEndpoint: string
  caFile: string
  blobEndpoint: string
  identityEndpoint: string
  subscription: string
  env: Record<string, string>
  /** The data planes: real or modelled, the PostgreSQL version the servers really run, and notices (e.g. a mapped major). */
  dataPlane: {mode: 'real' | 'modelled'; postgresVersion?: string; postgresVersions?: string[]; notices: string[]}
}

export default class EmulatorStart extends BaseCommand<EmulatorStartResult | undefined> {
  static override summary = 'Run the local Azure emulator in the foreground (Ctrl-C stops it); state persists under .opsbook/emulator/'
  static override description =
    'Runs in the project\'s .opsbook/emulator/ state; `opsbook run` in another terminal uses it. With --json, one JSON document (endpoints, CA file, client environment) is printed as soon as it listens.'
  static override examples = ['<%= config.bin %> emulator start', '<%= config.bin %> emulator start --port 8443 --lro-seconds 1 --faults "latency=50"', '<%= config.bin %> emulator start --port 0 --json', '<%= config.bin %> emulator start --scenario insecure', '<%= config.bin %> emulator start --no-load']
  static override flags = {
    port: Flags.integer({description: 'HTTPS port for ARM (0 = random)', default: 0}),
    env: Flags.string({description: 'Catalog environment to seed from (default: the first with cloud: emulator)'}),
    'lro-seconds': Flags.integer({description: 'How long long-running operations stay in progress', min: 0}),
    faults: Flags.string({description: 'Faults to inject: JSON or k=v pairs (also OPSBOOK_EMULATOR_FAULTS)'}),
    scenario: Flags.string({
      description: 'Serve a built-in estate instead of opsbook.estate.yaml: insecure (every check of `opsbook check` fails at least once) or compliant (docs/checks.md#emulator-scenarios)',
      options: ['insecure', 'compliant'],
    }),
    load: Flags.boolean({
      description: 'Keep writing rows into every emulated PostgreSQL server and keys into every Redis cache, so restores and snapshots have data to lose (default: on for the local environment)',
      allowNo: true,
    }),
  }

  async run(): Promise<EmulatorStartResult | undefined> {
    const {flags} = await this.parse(EmulatorStart)
    const {serveEmulator, emulatorStateDir} = await import('../../emulator/connect.js')
    const {servedError} = await import('../../emulator/lock.js')
    const {parseFaultSpec} = await import('../../emulator/faults.js')
    const stateDir = emulatorStateDir({catalogFile: flags.catalog})
    const served = await serveEmulator({
      mode: 'server',
      catalogFile: flags.catalog,
      environmentName: flags.env,
      stateDir,
      port: flags.port,
      lroDurationMs: flags['lro-seconds'] === undefined ? undefined : flags['lro-seconds'] * 1000,
      faults: parseFaultSpec(flags.faults),
      scenario: flags.scenario as 'insecure' | 'compliant' | undefined,
      load: flags.load,
    })
    if ('holder' in served) throw servedError(served.holder, stateDir, 'start the emulator')
    const {emulator} = served
    const {mode, postgresVersion, postgresVersions, notices} = emulator.dataPlane
    const result: EmulatorStartResult = {
      armEndpoint: emulator.armEndpoint,
      caFile: emulator.caFile,
      blobEndpoint: emulator.blob.endpoint,
      identityEndpoint: emulator.identityEndpoint,
      subscription: emulator.subscription,
      env: emulator.env(),
      dataPlane: {mode, ...(postgresVersion ? {postgresVersion} : {}), ...(postgresVersions ? {postgresVersions} : {}), notices},
    }
    // Printed now, not at exit: a script needs the (possibly random) endpoints while the emulator runs.
    if (this.jsonEnabled()) this.logJson(result)
    else {
      const {describeEmulator} = await import('../../emulator/describe.js')
      for (const line of describeEmulator(emulator)) this.say(line)
    }
    await new Promise<void>((resolve) => {
      const stop = () => void emulator.stop().then(resolve)
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    this.note('emulator stopped')
    // Under --json the document went out at startup; returning nothing keeps stdout to that one document.
    return this.jsonEnabled() ? undefined : result
  }
}
