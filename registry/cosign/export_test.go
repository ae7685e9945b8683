package cosign

// SignatureConfig exports signatureConfig to the tests.
var SignatureConfig = signatureConfig
