import {BaseCommand} from '../../cli/base-command.js'

export interface EmulatorResetResult {
  stateDir: string
  removed: string[]
}

export default class EmulatorReset extends BaseCommand<EmulatorResetResult> {
  static override summary = 'Forget the emulator\'s state (resources, operations, blobs); the next start seeds from the catalog again'
  static override examples = ['<%= config.bin %> emulator reset']

  async run(): Promise<EmulatorResetResult> {
    await this.parse(EmulatorReset)
    const {resetEmulatorState} = await import('../../emulator/state.js')
    const {emulatorStateDir} = await import('../../emulator/connect.js')
    const stateDir = emulatorStateDir()
    const removed = resetEmulatorState(stateDir)
    this.say(removed.length > 0 ? `✔ emulator state removed from ${stateDir}` : `nothing to reset in ${stateDir}`)
    return {stateDir, removed}
  }
}
