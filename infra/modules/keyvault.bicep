// The key-encryption key (software RSA by default, HSM-backed on Premium) and the app registration's
// client secret, in a vault that authorizes with Azure RBAC and cannot be purged early.
param name string
param location string
param tags object
param tenantId string
@description('true: an RSA-HSM key on a Premium vault; false: a software RSA key on a Standard vault.')
param hsmKey bool = false
@secure()
@description('The commercial app registration\'s client secret; empty to add it later.')
param clientSecret string = ''
@secure()
@description('The Azure Government app registration\'s client secret (government deployments); empty if none.')
param usgovClientSecret string = ''
@secure()
@description('The secret mixed into built-in meeting room names (keep it: changing it changes every room).')
param roomSecret string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Flex Consumption without a VNet reaches the vault over its public endpoint; access is RBAC only
  // checkov:skip=CKV_AZURE_189: same as CKV_AZURE_109
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: hsmKey ? 'premium' : 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  // checkov:skip=CKV_AZURE_112: a software RSA key by default; hsmKey=true makes it RSA-HSM on a Premium vault
  parent: vault
  name: 'hc-kek'
  properties: {
    kty: hsmKey ? 'RSA-HSM' : 'RSA'
    keySize: 3072
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
      exp: 1893456000
    }
    rotationPolicy: {
      lifetimeActions: [
        {
          action: {
            type: 'rotate'
          }
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
        }
      ]
      attributes: {
        expiryTime: 'P2Y'
      }
    }
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(clientSecret)) {
  // checkov:skip=CKV_AZURE_41: exp is set below; the check does not read the properties of a conditional resource
  // checkov:skip=CKV_AZURE_114: contentType is set below; the check does not read the properties of a conditional resource
  parent: vault
  name: 'hc-client-secret'
  properties: {
    value: clientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: 1893456000
    }
  }
}

resource usgovSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(usgovClientSecret)) {
  // checkov:skip=CKV_AZURE_41: exp is set below; the check does not read the properties of a conditional resource
  // checkov:skip=CKV_AZURE_114: contentType is set below; the check does not read the properties of a conditional resource
  parent: vault
  name: 'hc-usgov-client-secret'
  properties: {
    value: usgovClientSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: 1893456000
    }
  }
}

resource room 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'hc-room-secret'
  properties: {
    value: roomSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: 1893456000
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
output keyId string = '${vault.properties.vaultUri}keys/hc-kek'
output clientSecretUri string = '${vault.properties.vaultUri}secrets/hc-client-secret'
output roomSecretUri string = '${vault.properties.vaultUri}secrets/hc-room-secret'
output clientCertificateUri string = '${vault.properties.vaultUri}secrets/hc-client-certificate'
output usgovClientCertificateUri string = '${vault.properties.vaultUri}secrets/hc-usgov-client-certificate'
output usgovClientSecretUri string = '${vault.properties.vaultUri}secrets/hc-usgov-client-secret'
