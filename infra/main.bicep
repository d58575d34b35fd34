// Hybrid Calendar in one resource group: Function App (Flex Consumption), Storage, Key Vault, a user-assigned
// managed identity with least-privilege roles, Application Insights with alerts. Deployed by `azd up`
// (azure.yaml) or `make deploy`; docs/deploy.md walks through it.
targetScope = 'resourceGroup'

@minLength(3)
@maxLength(16)
@description('A short name, letters and digits: every resource is named from it.')
param environmentName string
param location string = resourceGroup().location
@allowed([
  'AzureCloud'
  'AzureUSGovernment'
])
@description('The Azure environment deployed to: AzureUSGovernment makes a government deployment (GCC and GCC High).')
param cloud string = 'AzureCloud'
@description('The app registration in Azure commercial (Worldwide and GCC tenants).')
param clientId string
@allowed([
  'secret'
  'certificate'
])
@description('secret: clientSecret (and usgovClientSecret) go to the vault; certificate: import hc-client-certificate (and hc-usgov-client-certificate) in PEM format into the vault after provisioning (docs/deploy.md).')
param clientCredential string = 'secret'
@secure()
param clientSecret string = ''
@description('Government deployments: the app registration in Azure Government (GCC High tenants); empty for none.')
param usgovClientId string = ''
@secure()
param usgovClientSecret string = ''
@secure()
@description('The secret mixed into built-in meeting room names; keep the same value on every deployment.')
param roomSecret string
@description('An HSM-backed key-encryption key (Premium vault) instead of a software RSA key.')
param hsmKey bool = false
param pythonVersion string = '3.11'
param alertEmail string = ''

var suffix = toLower(uniqueString(resourceGroup().id, environmentName))
var name = toLower('hc-${environmentName}')
var tags = {
  'azd-env-name': environmentName
  product: 'hybrid-calendar'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${name}-identity'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('hc${replace(environmentName, '-', '')}${suffix}', 24)
    location: location
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('hc-${environmentName}-${suffix}', 24)
    location: location
    tags: tags
    tenantId: subscription().tenantId
    hsmKey: hsmKey
    clientSecret: clientSecret
    usgovClientSecret: usgovClientSecret
    roomSecret: roomSecret
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: name
    location: location
    tags: tags
    alertEmail: alertEmail
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageName: storage.outputs.name
    vaultName: vault.outputs.name
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [
    roles
  ]
  params: {
    name: '${name}-${suffix}'
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    tableEndpoint: storage.outputs.tableEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    blobEndpoint: storage.outputs.blobEndpoint
    insightsConnectionString: monitoring.outputs.connectionString
    keyId: vault.outputs.keyId
    clientSecretUri: vault.outputs.clientSecretUri
    usgovClientSecretUri: vault.outputs.usgovClientSecretUri
    clientCertificateUri: vault.outputs.clientCertificateUri
    usgovClientCertificateUri: vault.outputs.usgovClientCertificateUri
    clientCredential: clientCredential
    roomSecretUri: vault.outputs.roomSecretUri
    deployment: cloud == 'AzureUSGovernment' ? 'government' : 'commercial'
    clientId: clientId
    usgovClientId: usgovClientId
    pythonVersion: pythonVersion
  }
}

output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output HC_PUBLIC_BASE_URL string = 'https://${app.outputs.hostName}'
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
