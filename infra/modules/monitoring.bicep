// Application Insights on a Log Analytics workspace, and the alerts an operator needs first: messages in a
// poison queue, failed subscription renewals, and the Graph webhooks answering 5xx.
param name string
param location string
param tags object
@description('Where alerts are mailed; empty: alerts are recorded but nobody is mailed.')
param alertEmail string = ''

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-insights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: false
  }
}

resource people 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${name}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'hc-ops'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var alerts = [
  {
    name: 'poison-messages'
    description: 'Work failed every attempt and waits in a poison queue (hc.queue.poison above 0).'
    query: 'customMetrics | where name == "hc.queue.poison" | summarize poison = max(value) by queue = tostring(customDimensions.queue) | where poison > 0'
    severity: 2
  }
  {
    name: 'failed-renewals'
    description: 'Graph subscriptions could not be renewed (hc.subscriptions.renewals with result failed).'
    query: 'customMetrics | where name == "hc.subscriptions.renewals" and tostring(customDimensions.result) == "failed" | summarize failed = sum(valueSum) | where failed > 0'
    severity: 2
  }
  {
    name: 'webhook-5xx'
    description: 'Graph\'s webhooks were answered with 5xx: Graph retries, then drops notifications and subscriptions.'
    query: 'requests | where url has "/api/graph/" and toint(resultCode) >= 500 | summarize errors = count() | where errors > 0'
    severity: 1
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for alert in alerts: {
  name: '${name}-${alert.name}'
  location: location
  tags: tags
  properties: {
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        people.id
      ]
    }
  }
}]

output connectionString string = insights.properties.ConnectionString
output id string = insights.id
