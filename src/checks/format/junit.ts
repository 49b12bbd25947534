/**
 * JUnit XML for CI test tabs: one testsuite per resource type, one testcase per check × resource. Fails are
 * failures, errors are errors, n/a and waived are skipped (the waiver is in the output). `classname` is the resource
 * type for every case of a suite (the suite's name), the case name is `<check> <resource>`. Times: the scan's
 * duration on the root (collection dominates and is shared by all checks), 0 per case (rules evaluate in memory);
 * `timestamp` is UTC without a zone suffix, as the JUnit XSD's xs:dateTime pattern wants.
 */
import type {Builder} from 'junit-report-builder'
import type {CheckReport, Finding} from '../types.js'

export async function formatJunit(report: CheckReport): Promise<string> {
  // The package is CommonJS with `module.exports = builder`; its typings describe an ES default export.
  const junit = (await import('junit-report-builder')).default as unknown as Builder
  const builder = junit.newBuilder().name(`opsbook check ${report.environment}`)
  const timestamp = report.scannedAt.slice(0, 19)
  const byType = new Map<string, Finding[]>()
  for (const f of report.findings) byType.set(f.resourceType, [...(byType.get(f.resourceType) ?? []), f])
  for (const [type, findings] of byType) {
    const suite = builder.testSuite().name(type).timestamp(timestamp).time(0)
    for (const f of findings) {
      const testCase = suite.testCase().className(type).name(`${f.checkId} ${f.resourceName}`).time(0)
      // Resource id and severity open the case's output: junit-10.xsd, the schema CI servers validate JUnit against,
      // allows no <properties> in a testcase (https://github.com/jenkinsci/xunit-plugin/blob/master/src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd).
      const about = `resource: ${f.resourceId}\nseverity: ${f.severity}\n`
      if (f.status === 'fail') testCase.failure(`[${f.severity}] ${f.message}`, f.checkId).standardOutput(`${about}Remediation: ${f.remediation.text}\n${f.remediation.az}`)
      else if (f.status === 'error') testCase.error(f.message, 'unreadable-data').standardOutput(about)
      else if (f.status === 'not-applicable' || f.status === 'waived') testCase.skipped().standardOutput(`${about}${f.message}`)
      else testCase.standardOutput(`${about}${f.message}`)
    }
  }
  // The builder offers no time on the root <testsuites>: add the scan's duration there.
  // The builder counts skipped cases on <testsuites> too, which junit-10.xsd declares on <testsuite> only.
  return builder
    .build()
    .replace(/^(<testsuites\b[^>]*?) skipped="\d+"/m, '$1')
    .replace(/<testsuites\b/, `<testsuites time="${(report.collection.durationMs / 1000).toFixed(3)}"`)
}
