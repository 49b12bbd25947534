/**
 * Traffic Manager checks, read from Resource Graph `resources` (the profile with its endpoints and monitorConfig):
 * PSRule's Azure.TrafficManager.Protocol (monitor web endpoints with HTTPS) and Azure.TrafficManager.Endpoints (at
 * least two enabled endpoints, or there is nothing to fail over to). Defaults from trafficmanager.json 2022-04-01 and
 * https://learn.microsoft.com/azure/traffic-manager/traffic-manager-monitoring: a profile created without
 * monitorConfig probes over HTTP on port 80.
 * Front Door's checks are in frontdoor.ts.
 */
import {RESOURCE_TYPES, type CheckRule} from '../types.js'
import type {TrafficManagerComponent} from '../../catalog/schema.js'
import {describeSetting, fail, notApplicable, pass, readOrDefault} from './helpers.js'

const PROFILE = [RESOURCE_TYPES.trafficManager]

export const trafficRules: CheckRule[] = [
  {
    id: 'tm.monitor.https',
    title: 'Traffic Manager probes endpoints over HTTPS',
    severity: 'medium',
    resourceTypes: PROFILE,
    reads: ['properties.monitorConfig.protocol'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.monitorConfig.protocol', 'HTTP')
      const text = describeSetting('monitorConfig.protocol', setting)
      // TCP probes only see a port open, not a healthy app; HTTP probes send the health path in clear text.
      return String(setting.value).toUpperCase() === 'HTTPS' ? pass(text) : fail(`${text}: endpoint health is not checked over HTTPS`)
    },
    remediation: {text: 'Monitor endpoints with HTTPS on the app\'s health path.', az: 'az network traffic-manager profile update --resource-group <rg> --name <name> --protocol HTTPS --port 443 --path /health'},
    // azqr traf-009 "Traffic Manager: HTTP endpoints should be monitored using HTTPS" (Azure/azqr internal/graph/azqr/azure-resources/Network/trafficManagerProfiles/kql/traf-009.kql).
    frameworks: {mcsb: ['DP-3'], psrule: ['Azure.TrafficManager.Protocol'], azqr: ['traf-009']},
  },
  {
    id: 'tm.monitor.configured',
    title: "Traffic Manager probes the app's health path (as the catalog says)",
    severity: 'medium',
    resourceTypes: PROFILE,
    reads: ['properties.monitorConfig.path'],
    evaluate(resource, _f, context) {
      // A probe of `/` (Azure's default monitorConfig.path) sees the site answer, not the app healthy: the catalog's
      // monitor path, else the health path of the web app behind its first endpoint, is what failover should follow.
      const spec = context.component?.spec as TrafficManagerComponent | undefined
      if (spec?.type !== 'trafficmanager') return notApplicable('not a catalog Traffic Manager profile')
      const site = spec.endpoints.map((e) => (e.webapp ? context.environment.components[e.webapp] : undefined)).find((c) => c?.type === 'webapp')
      const expected = spec.monitor?.path ?? (site?.type === 'webapp' ? site.healthPath : undefined)
      if (!expected) return notApplicable('the catalog names no monitor path and no endpoint web app health path')
      const setting = readOrDefault(resource, 'properties.monitorConfig.path', '/')
      const text = describeSetting('monitorConfig.path', setting)
      return String(setting.value) === expected ? pass(text) : fail(`${text}; the catalog expects ${expected}`)
    },
    remediation: {text: "Point the profile's probe at the app's health path.", az: 'az network traffic-manager profile update --resource-group <rg> --name <name> --path /health'},
    frameworks: {mcsb: ['BR-1']},
  },
  {
    id: 'tm.endpoints.redundant',
    title: 'Traffic Manager has at least two enabled endpoints',
    severity: 'high',
    resourceTypes: PROFILE,
    reads: ['properties.endpoints'],
    evaluate(resource) {
      const setting = readOrDefault(resource, 'properties.endpoints', [])
      const endpoints = Array.isArray(setting.value) ? (setting.value as Array<{name?: string; properties?: {endpointStatus?: string}}>) : []
      const enabled = endpoints.filter((e) => e.properties?.endpointStatus !== 'Disabled').map((e) => e.name ?? '?')
      const text = `${enabled.length} enabled endpoint(s)${enabled.length ? `: ${enabled.join(', ')}` : ''}`
      return enabled.length >= 2 ? pass(text) : fail(`${text}: nothing to fail over to`)
    },
    remediation: {text: 'Add (or enable) an endpoint in a second region.', az: 'az network traffic-manager endpoint update --resource-group <rg> --profile-name <name> --type azureEndpoints --name <endpoint> --endpoint-status Enabled'},
    frameworks: {mcsb: ['BR-1'], psrule: ['Azure.TrafficManager.Endpoints']},
  },
]
