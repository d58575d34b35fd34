// The Function App on the Flex Consumption plan, running as the user-assigned identity. Its app settings are
// the one list below; tests/infra checks it against every setting the product reads (shared/config.py).
param name string
param location string
param tags object
param identityId string
param identityClientId string
param deploymentContainerUrl string
param tableEndpoint string
param queueEndpoint string
param blobEndpoint string
param insightsConnectionString string
param keyId string
param clientSecretUri string
param usgovClientSecretUri string
@allowed([
  'commercial'
  'government'
])
param deployment string
param clientId string
param usgovClientId string
@allowed([
  'secret'
  'certificate'
])
@description('How the app registrations authenticate: a client secret, or a certificate imported in the vault.')
param clientCredential string = 'secret'
param clientCertificateUri string
param usgovClientCertificateUri string
param roomSecretUri string
@description('The Python version of the workers: the versions the suite runs on are 3.11 and 3.13.')
param pythonVersion string = '3.11'
@description('Instances kept warm for the HTTP functions: Graph gives a webhook 10 s to answer its handshake.')
param alwaysReadyHttp int = 1
param maximumInstances int = 100

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption availability zones depend on the region; set zoneRedundant where the region offers it
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

var useSecret = clientCredential == 'secret'
var keyVaultSecret = '@Microsoft.KeyVault(SecretUri='
var appSettings = [
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: tableEndpoint }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: queueEndpoint }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: blobEndpoint }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
  { name: 'AzureFunctionsJobHost__logging__logLevel__Function', value: 'Warning' }
  { name: 'HC_KEY_PROVIDER', value: 'keyvault' }
  { name: 'HC_KEYVAULT_KEY_ID', value: keyId }
  { name: 'HC_DEPLOYMENT', value: deployment }
  { name: 'HC_GRAPH_BASE_URL', value: 'microsoft' }
  { name: 'HC_CLIENT_ID', value: clientId }
  { name: 'HC_CLIENT_SECRET', value: useSecret ? '${keyVaultSecret}${clientSecretUri})' : '' }
  { name: 'HC_CLIENT_CERTIFICATE', value: useSecret ? '' : '${keyVaultSecret}${clientCertificateUri})' }
  { name: 'HC_USGOV_CLIENT_ID', value: usgovClientId }
  { name: 'HC_USGOV_CLIENT_SECRET', value: empty(usgovClientId) || !useSecret ? '' : '${keyVaultSecret}${usgovClientSecretUri})' }
  { name: 'HC_USGOV_CLIENT_CERTIFICATE', value: empty(usgovClientId) || useSecret ? '' : '${keyVaultSecret}${usgovClientCertificateUri})' }
  { name: 'HC_PUBLIC_BASE_URL', value: 'https://${name}.azurewebsites.${deployment == 'government' ? 'us' : 'net'}' }
  { name: 'HC_BUILTIN_ROOM_SECRET', value: '${keyVaultSecret}${roomSecretUri})' }
  { name: 'HC_WEBEX_API_URL', value: 'https://webexapis.com/v1' }
]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Microsoft Graph posts change notifications to the webhooks over the public internet
  // checkov:skip=CKV_AZURE_17: Graph and the apps calling the API present no client certificates; they use tokens and clientState
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out on demand; warm instances are alwaysReady in functionAppConfig
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      healthCheckPath: '/api/health'
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstances
        instanceMemoryMB: 2048
        alwaysReady: [
          {
            name: 'http'
            instanceCount: alwaysReadyHttp
          }
        ]
        triggers: {
          http: {
            perInstanceConcurrency: 16
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

output name string = app.name
output hostName string = app.properties.defaultHostName
