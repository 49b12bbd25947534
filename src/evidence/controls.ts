/**
 * Which audit controls opsbook evidence supports. The descriptions paraphrase the criteria (SOC 2 Trust Services
 * Criteria 2017, revised points of focus 2022; ISO/IEC 27001:2022 Annex A) so an auditor recognises them; they are
 * not the normative text. A run supports a control when its runbook kind (or name) produces the evidence the
 * control asks for.
 */

export interface Control {
  /** e.g. `SOC 2 A1.2`. */
  id: string
  framework: 'SOC 2' | 'ISO/IEC 27001:2022'
  title: string
  /** What the control asks for, briefly. */
  description: string
  /** What opsbook evidence shows for it. */
  evidence: string
  /** Whether a run (by runbook kind and name) is evidence for this control. */
  supportedBy(run: {kind?: string; runbook?: string}): boolean
}

type RunKind = {kind?: string; runbook?: string}
const isDrill = (run: RunKind) => run.kind === 'drill'
const isRestore = (run: RunKind) => run.kind === 'drill' || /restore|pitr|promote|export|snapshot|backup/.test(run.runbook ?? '')
// Runs that check the backup configuration: the security checklist and the maintenance-window runbook — not any
// checklist (`hello` is one) nor any maintenance run (a slot swap says nothing about backups).
const isBackupOrMaintenanceCheck = (run: RunKind) => run.runbook === 'security-checklist' || run.runbook === 'maintenance-window'

export const CONTROLS: readonly Control[] = [
  {
    id: 'SOC 2 A1.2',
    framework: 'SOC 2',
    title: 'Environmental protections, software, data backup and recovery infrastructure',
    description:
      'The entity authorizes, designs, implements, operates, maintains and monitors data backup processes and recovery infrastructure to meet its availability objectives.',
    evidence:
      'Security-checklist runs (backup retention, geo-redundant backup, replicas) and maintenance runs show the backup and recovery configuration is monitored; restore and drill runs show it works.',
    supportedBy: (run) => isBackupOrMaintenanceCheck(run) || isRestore(run),
  },
  {
    id: 'SOC 2 A1.3',
    framework: 'SOC 2',
    title: 'Recovery plan testing',
    description: 'The entity tests recovery plan procedures supporting system recovery to meet its objectives.',
    evidence:
      'DR drill runs: each restores every component into scratch resources, verifies it, and measures RTO and RPO against the catalog objectives; the coverage table shows components without a passing drill.',
    supportedBy: isDrill,
  },
  {
    id: 'ISO 27001 A.5.30',
    framework: 'ISO/IEC 27001:2022',
    title: 'ICT readiness for business continuity',
    description:
      'ICT readiness is planned, implemented, maintained and tested based on business continuity objectives and ICT continuity requirements.',
    evidence:
      'Catalog recovery objectives (RTO/RPO per component) with drill runs that measure against them, trended per quarter; approvals and overrides are recorded with reasons.',
    supportedBy: (run) => isDrill(run) || run.kind === 'incident',
  },
  {
    id: 'ISO 27001 A.8.13',
    framework: 'ISO/IEC 27001:2022',
    title: 'Information backup',
    description:
      'Backup copies of information, software and systems are maintained and regularly tested in accordance with the agreed topic-specific policy on backup.',
    evidence:
      'Restore tests (point-in-time restores, Redis snapshot export/import, drills) with verification results, and checklist runs that check backup retention and redundancy.',
    supportedBy: (run) => isRestore(run) || isBackupOrMaintenanceCheck(run),
  },
]

export interface ControlCoverage {
  id: string
  framework: string
  title: string
  description: string
  evidence: string
  /** Runs in the period that support the control. */
  runIds: string[]
}

/**
 * For each control, the runs (of those given) that are evidence for it. Only runs that passed count: a failed
 * restore is evidence that something needs fixing, not that backup and recovery work.
 */
export function mapControls(runs: Array<{runId: string; kind?: string; runbook?: string; passed?: boolean}>): ControlCoverage[] {
  return CONTROLS.map((control) => ({
    id: control.id,
    framework: control.framework,
    title: control.title,
    description: control.description,
    evidence: control.evidence,
    runIds: runs.filter((run) => run.passed !== false && control.supportedBy(run)).map((run) => run.runId),
  }))
}
