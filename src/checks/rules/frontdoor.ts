/**
 * Front Door Standard/Premium checks (issue #13's top risks for the failover path): a WAF policy in Prevention mode
 * attached, HTTPS only (or HTTP redirected) on every route, and TLS 1.2+ on custom domains. The profile comes from
 * Resource Graph `resources` (microsoft.cdn/profiles); its security policies, routes and custom domains are child
 * resources Resource Graph does not hold, read from ARM once per profile (Microsoft.Cdn 2024-02-01 afdx.json); the WAF
 * policies they name come from one Resource Graph query (microsoft.network/frontdoorwebapplicationfirewallpolicies).
 */
import {RESOURCE_TYPES, type CheckRule, type FrontDoorConfig} from '../types.js'
import {fail, MissingData, needFact, notApplicable, pass, valueAt} from './helpers.js'

const PROFILE = [RESOURCE_TYPES.frontDoor]

/** Front Door Standard/Premium SKUs (the classic CDN SKUs of microsoft.cdn/profiles are not Front Door). */
function isFrontDoor(sku: unknown): boolean {
  return /_AzureFrontDoor$/i.test(String(valueAt(sku, 'name') ?? ''))
}

const config = (facts: Parameters<CheckRule['evaluate']>[1]) => needFact(facts, 'frontDoorConfig') as FrontDoorConfig

export const frontDoorRules: CheckRule[] = [
  {
    id: 'fd.waf.prevention',
    title: 'Front Door has a WAF policy attached, enabled and in Prevention mode',
    severity: 'high',
    resourceTypes: PROFILE,
    reads: ['securityPolicies[*].properties.parameters.wafPolicy.id', 'WAF policy properties.policySettings.{enabledState,mode}'],
    facts: ['frontDoorConfig'],
    evaluate(resource, facts) {
      if (!isFrontDoor(resource.sku)) return notApplicable(`sku ${String(valueAt(resource, 'sku.name'))} is not Front Door Standard/Premium`)
      const {securityPolicies, wafPolicies} = config(facts)
      const attached = securityPolicies.filter((p) => String(valueAt(p.properties, 'parameters.type')).toLowerCase() === 'webapplicationfirewall')
      if (attached.length === 0) return fail('no WAF security policy is attached to the profile')
      const weak: string[] = []
      for (const policy of attached) {
        const id = String(valueAt(policy.properties, 'parameters.wafPolicy.id') ?? '')
        const waf = wafPolicies[id.toLowerCase()]
        if (!waf) throw new MissingData(`WAF policy ${id.split('/').pop()} of security policy ${policy.name} is not visible in Resource Graph`)
        // WebApplicationFirewallPolicy.policySettings (frontdoor webapplicationfirewall.json): Detection only logs;
        // Prevention blocks (https://learn.microsoft.com/azure/web-application-firewall/afds/waf-front-door-policy-settings).
        const enabled = valueAt(waf.properties, 'policySettings.enabledState')
        const mode = valueAt(waf.properties, 'policySettings.mode')
        if (enabled === undefined || mode === undefined) throw new MissingData(`policySettings of WAF policy ${waf.name} is absent`)
        if (String(enabled).toLowerCase() !== 'enabled' || String(mode).toLowerCase() !== 'prevention') weak.push(`${waf.name} is ${enabled}/${mode}`)
      }
      return weak.length === 0 ? pass(`WAF ${attached.map((p) => p.name).join(', ')} enabled in Prevention mode`) : fail(weak.join('; '))
    },
    remediation: {
      text: 'Attach a Front Door WAF policy to every endpoint and switch it to Prevention mode once its rules are tuned.',
      az: 'az network front-door waf-policy update --resource-group <rg> --name <policy> --mode Prevention --disabled false',
    },
    // Azure Policy 425bea59 "Web Application Firewall (WAF) should use the specified mode for Azure Front Door Service" audits
    // frontdoorWebApplicationFirewallPolicies policySettings.mode against its modeRequirement parameter (set it to Prevention)
    // (Azure/azure-policy built-in-policies/policyDefinitions/Network/WAF_AFD_Mode_Audit.json).
    frameworks: {mcsb: ['NS-6'], psrule: ['Azure.FrontDoorWAF.PreventionMode'], defender: ['425bea59']},
  },
  {
    id: 'fd.https_only',
    title: 'Front Door routes accept HTTPS only or redirect HTTP to HTTPS',
    severity: 'high',
    resourceTypes: PROFILE,
    reads: ['afdEndpoints/*/routes[*].properties.{supportedProtocols,httpsRedirect,enabledState}'],
    facts: ['frontDoorConfig'],
    evaluate(resource, facts) {
      if (!isFrontDoor(resource.sku)) return notApplicable(`sku ${String(valueAt(resource, 'sku.name'))} is not Front Door Standard/Premium`)
      const {routes} = config(facts)
      const active = routes.filter((r) => r.properties.enabledState !== 'Disabled')
      if (active.length === 0) return pass('no enabled routes')
      // RouteProperties (afdx.json 2024-02-01): supportedProtocols defaults to [Http, Https]; httpsRedirect to Disabled.
      const plain = active.filter((r) => {
        const protocols: string[] = (r.properties.supportedProtocols ?? ['Http', 'Https']).map((p: string) => p.toLowerCase())
        return protocols.includes('http') && String(r.properties.httpsRedirect ?? 'Disabled').toLowerCase() !== 'enabled'
      })
      return plain.length === 0
        ? pass(`${active.length} route(s) HTTPS only or redirecting`)
        : fail(`route(s) ${plain.map((r) => `${r.endpoint}/${r.name}`).join(', ')} serve plain HTTP without redirecting to HTTPS`)
    },
    remediation: {text: 'Redirect HTTP to HTTPS on every route (or accept HTTPS only).', az: 'az afd route update --resource-group <rg> --profile-name <profile> --endpoint-name <endpoint> --route-name <route> --https-redirect Enabled'},
    // PSRule's Azure.CDN.HTTP is the same rule for classic CDN endpoints (Microsoft.Cdn/profiles/endpoints), not AFD routes.
    frameworks: {mcsb: ['DP-3']},
  },
  {
    id: 'fd.tls.min12',
    title: 'Front Door custom domains accept TLS 1.2 or newer only',
    severity: 'high',
    resourceTypes: PROFILE,
    reads: ['customDomains[*].properties.tlsSettings.minimumTlsVersion'],
    facts: ['frontDoorConfig'],
    evaluate(resource, facts) {
      if (!isFrontDoor(resource.sku)) return notApplicable(`sku ${String(valueAt(resource, 'sku.name'))} is not Front Door Standard/Premium`)
      const {customDomains} = config(facts)
      // Minimum TLS 1.2 is the default since 2019 and TLS 1.0/1.1 minimums are disallowed since 1 March 2025
      // (https://learn.microsoft.com/azure/frontdoor/end-to-end-tls#supported-tls-versions, …/standard-premium/tls-policy);
      // the endpoint's own azurefd.net domain has no setting. A custom domain still set to TLS10 fails.
      if (customDomains.length === 0) return pass('no custom domains (the azurefd.net endpoint domain uses TLS 1.2 minimum)')
      const old = customDomains.filter((d) => ['tls10', 'tls11', '1.0', '1.1'].includes(String(valueAt(d.properties, 'tlsSettings.minimumTlsVersion') ?? 'TLS12').toLowerCase()))
      return old.length === 0
        ? pass(`${customDomains.length} custom domain(s) at TLS 1.2 or newer`)
        : fail(`custom domain(s) ${old.map((d) => `${d.name} (${valueAt(d.properties, 'tlsSettings.minimumTlsVersion')})`).join(', ')} accept TLS older than 1.2`)
    },
    remediation: {text: 'Set the custom domain minimum TLS version to 1.2.', az: 'az afd custom-domain update --resource-group <rg> --profile-name <profile> --custom-domain-name <domain> --minimum-tls-version TLS12'},
    // PSRule's Azure.FrontDoor.MinTLS is the same rule for Front Door (classic) frontendEndpoints. Azure Policy 679da822 "Azure Front
    // Door Standard and Premium should be running minimum TLS version of 1.2" audits customDomains tlsSettings.minimumTlsVersion
    // (Azure/azure-policy built-in-policies/policyDefinitions/CDN/AFD_Standard_Premium_MinimumTls_Audit.json).
    frameworks: {mcsb: ['DP-3'], defender: ['679da822']},
  },
]
