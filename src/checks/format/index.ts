/** Every output format by name. */
import type {CheckReport} from '../types.js'
import {formatCsv} from './csv.js'
import {formatJson} from './json.js'
import {formatJunit} from './junit.js'
import {formatOcsf} from './ocsf.js'
import {formatSarif} from './sarif.js'
import {formatTable} from './table.js'

export const FORMATS = ['table', 'json', 'csv', 'sarif', 'junit', 'ocsf'] as const
export type CheckFormat = (typeof FORMATS)[number]

/** Render a report in `format`. */
export async function formatReport(report: CheckReport, format: CheckFormat, options: {verbose?: boolean; width?: number} = {}): Promise<string> {
  switch (format) {
    case 'table':
      return formatTable(report, options)
    case 'json':
      return formatJson(report)
    case 'csv':
      return formatCsv(report)
    case 'sarif':
      return formatSarif(report)
    case 'junit':
      return formatJunit(report)
    case 'ocsf':
      return formatOcsf(report)
  }
}
