/**
 * Whether a process with this id exists: signal 0 checks without sending anything. EPERM means it exists but belongs
 * to another user (not as root), so it counts as alive; ESRCH means it is gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
