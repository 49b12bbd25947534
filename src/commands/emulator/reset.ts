import {BaseCommand} from '../../cli/base-command.js'

export interface EmulatorResetResult {
  stateDir: string
  removed: string[]
}

export default class EmulatorReset extends BaseCommand<EmulatorResetResult> {
  static override summary = 'Forget the emulator\'s state (resources, operations, blobs); the next start seeds from the catalog again'
  static override description = 'Refused (exit 5) while an emulator serves that state: stop `opsbook emulator start` or let the run finish first.'
  static override examples = ['<%= config.bin %> emulator reset']

  async run(): Promise<EmulatorResetResult> {
    const {flags} = await this.parse(EmulatorReset)
    const {resetEmulatorState} = await import('../../emulator/state.js')
    const {emulatorStateDir} = await import('../../emulator/connect.js')
    const {assertNotServed} = await import('../../emulator/lock.js')
    const stateDir = emulatorStateDir({catalogFile: flags.catalog})
    await assertNotServed(stateDir, 'reset the emulator')
    const removed = resetEmulatorState(stateDir)
    this.say(removed.length > 0 ? `✔ emulator state removed from ${stateDir}` : `nothing to reset in ${stateDir}`)
    return {stateDir, removed}
  }
}
