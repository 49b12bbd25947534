/**
 * The shape of JUnit XML that CI servers validate against: Jenkins' junit-10.xsd (the xUnit plugin's schema of the
 * Ant/Surefire format, MIT, https://github.com/jenkinsci/xunit-plugin/blob/master/src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd).
 * Its elements, their allowed children and attributes, transcribed; `junit10Violations` lists every place a report
 * leaves that shape (an element where the schema allows none, an undeclared or missing attribute, a bad time).
 * The commonest break is `<properties>` inside a testcase: pytest moved such properties to the testsuite so that its
 * XML "is compatible with the latest xunit standard" (https://github.com/pytest-dev/pytest/commit/73bbff2b7459e2523973ac90dcbf15c3b4e1684a).
 */
import {XMLParser} from 'fast-xml-parser'

interface ElementRule {
  children: string[]
  attributes: string[]
  required?: string[]
  /** Attributes of type SUREFIRE_TIME. */
  times?: string[]
  text?: boolean
}

const RERUN = ['rerunFailure', 'rerunError', 'flakyFailure', 'flakyError']
const RULES: Record<string, ElementRule> = {
  testsuites: {children: ['testsuite'], attributes: ['name', 'time', 'tests', 'failures', 'errors'], times: ['time']},
  testsuite: {
    children: ['testsuite', 'properties', 'testcase', 'system-out', 'system-err'],
    attributes: ['name', 'tests', 'failures', 'errors', 'group', 'time', 'skipped', 'timestamp', 'hostname', 'id', 'package', 'file', 'log', 'url'],
    required: ['name', 'tests', 'failures', 'errors'],
    times: ['time'],
  },
  testcase: {children: ['skipped', 'error', 'failure', ...RERUN, 'system-out', 'system-err'], attributes: ['name', 'time', 'classname', 'group'], required: ['name']},
  properties: {children: ['property'], attributes: []},
  property: {children: [], attributes: ['name', 'value'], required: ['name', 'value']},
  failure: {children: [], attributes: ['type', 'message'], text: true},
  error: {children: [], attributes: ['type', 'message'], text: true},
  skipped: {children: [], attributes: ['type', 'message'], text: true},
  'system-out': {children: [], attributes: [], text: true},
  'system-err': {children: [], attributes: [], text: true},
  ...Object.fromEntries(RERUN.map((name) => [name, {children: ['stackTrace', 'system-out', 'system-err'], attributes: ['message', 'type'], required: ['type'], text: true}])),
  stackTrace: {children: [], attributes: [], text: true},
}
const SUREFIRE_TIME = /^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$/

type Node = Record<string, unknown>

export function junit10Violations(xml: string): string[] {
  const parser = new XMLParser({preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', ignoreDeclaration: true, parseAttributeValue: false, parseTagValue: false})
  const doc = parser.parse(xml) as Node[]
  const problems: string[] = []
  const roots = doc.filter((n) => elementName(n) !== undefined)
  if (roots.length !== 1 || !['testsuites', 'testsuite'].includes(elementName(roots[0]!)!)) problems.push(`root: expected one <testsuites> or <testsuite>, found ${roots.map(elementName).join(', ') || 'none'}`)
  for (const root of roots) check(root, elementName(root)!, problems)
  return problems
}

function elementName(node: Node): string | undefined {
  return Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#cdata')
}

function check(node: Node, path: string, problems: string[]): void {
  const name = elementName(node)!
  const rule = RULES[name]
  if (!rule) {
    problems.push(`${path}: <${name}> is not a JUnit element`)
    return
  }
  const attributes = (node[':@'] ?? {}) as Record<string, string>
  for (const a of Object.keys(attributes)) if (!rule.attributes.includes(a)) problems.push(`${path}: attribute "${a}" is not declared for <${name}>`)
  for (const a of rule.required ?? []) if (attributes[a] === undefined) problems.push(`${path}: <${name}> needs attribute "${a}"`)
  for (const a of rule.times ?? []) if (attributes[a] !== undefined && !SUREFIRE_TIME.test(attributes[a]!)) problems.push(`${path}: ${a}="${attributes[a]}" is not a SUREFIRE_TIME`)
  for (const child of (node[name] as Node[]) ?? []) {
    const childName = elementName(child)
    if (childName === undefined) {
      if (!rule.text && String(child['#text'] ?? child['#cdata'] ?? '').trim() !== '') problems.push(`${path}: <${name}> holds text`)
      continue
    }
    if (!rule.children.includes(childName)) problems.push(`${path}: <${childName}> is not allowed inside <${name}>`)
    check(child, `${path}/${childName}${(child[':@'] as Record<string, string> | undefined)?.name ? `[${(child[':@'] as Record<string, string>).name}]` : ''}`, problems)
  }
}
