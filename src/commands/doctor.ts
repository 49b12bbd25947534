import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {ExitCode} from '../errors.js'
import type {DoctorReport} from '../doctor/doctor.js'

export default class Doctor extends BaseCommand<DoctorReport> {
  static override summary = 'Check that this machine can run the built-in runbooks (against an environment), each line ✔/✖ with the fix'
  static override description =
    'Node version, `az` and the emulator\'s engines; with --env also the credential source and principal, subscription access, the permissions of every built-in runbook, the evidence container and its immutability, leases and the maintenance windows open now. Exit 6 when a line fails.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --env production', '<%= config.bin %> doctor --env staging --json']
  static override flags = {
    env: Flags.string({char: 'e', description: 'Environment from the catalog to check access to'}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const {runDoctor, renderDoctor} = await import('../doctor/doctor.js')
    const report = await runDoctor({envName: flags.env, catalogFlag: flags.catalog})
    if (!this.jsonEnabled()) process.stdout.write(renderDoctor(report))
    if (!report.ready) this.exitWith = ExitCode.notReady
    return report
  }
}
