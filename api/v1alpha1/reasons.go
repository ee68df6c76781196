/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

// Condition and event reasons of a BurnerSession. They are part of the API: users write alerts and runbooks on them.

// Reasons of a healthy session.
const (
	// ReasonTokenValid (Ready=True): the Secret holds an unexpired token for the current spec.
	ReasonTokenValid = "TokenValid"
	// ReasonUpToDate (Synced=True): the last attempt succeeded, or none was due.
	ReasonUpToDate = "UpToDate"
)

// Reasons the token Secret is not usable or needs a new token (Ready=False, or why a token is minted).
const (
	ReasonSecretMissing         = "SecretMissing"
	ReasonSecretNotOwned        = "SecretNotOwned"
	ReasonSecretMissingData     = "SecretMissingData"
	ReasonExpiresAtUnparsable   = "ExpiresAtUnparsable"
	ReasonSpecChanged           = "SpecChanged"
	ReasonForceRefreshRequested = "ForceRefreshRequested"
	ReasonNearingExpiry         = "NearingExpiry"
	ReasonExpired               = "Expired"
)

// Reasons a token could not be issued (Synced=False, and Ready=False once no valid token is left).
const (
	ReasonInvalidSpec            = "InvalidSpec"
	ReasonAPIKeySecretNotFound   = "APIKeySecretNotFound"
	ReasonAPIKeySecretUnreadable = "APIKeySecretUnreadable"
	ReasonAPIKeyMissing          = "APIKeyMissing"
	ReasonInvalidRequest         = "InvalidRequest"
	ReasonInvalidAPIKey          = "InvalidAPIKey"
	ReasonRateLimited            = "RateLimited"
	ReasonUpstreamError          = "UpstreamError"
	// ReasonSecretWriteFailed: a token was minted but the token Secret could not be written (a ResourceQuota, an
	// admission webhook, an immutable Secret, a terminating namespace). The token is kept in memory and the write
	// retried with it while it is valid, without minting another.
	ReasonSecretWriteFailed = "SecretWriteFailed"
)

// Reasons a session is refused before any call: decided afresh from the issuer, its policy and the key Secret at
// every reconcile, they show on Ready=False at once, even while an earlier token is still valid (it is left to
// expire, neither deleted nor rewritten).
const (
	ReasonPolicyDenied            = "PolicyDenied"
	ReasonIssuerNotFound          = "IssuerNotFound"
	ReasonIssuerNotReady          = "IssuerNotReady"
	ReasonAPIKeySecretNotLabelled = "APIKeySecretNotLabelled"
	// ReasonNamespaceSessionLimit: the issuer's policy.maxSessionsPerNamespace is taken by sessions ahead in line in
	// the namespace; the session is admitted, with no change of its own, when one of them is deleted or leaves the
	// issuer, or when the limit is raised.
	ReasonNamespaceSessionLimit = "NamespaceSessionLimit"
	// ReasonSecretTemplateInvalid: the secretTemplate (the session's over its issuer's) cannot be put on the token
	// Secret: a label value the CRD's rules cannot check, or annotations over the apiserver's size limit with those
	// already on the Secret. Nothing is minted for a Secret that could not carry it.
	ReasonSecretTemplateInvalid = "SecretTemplateInvalid"
)

// Reasons of an issuer's Ready condition, besides the API key reasons above.
const (
	// ReasonKeyAvailable (Ready=True): the key Secret exists, is opted in and holds a key, and the URL is valid.
	ReasonKeyAvailable = "KeyAvailable"
	// ReasonInvalidURL (Ready=False): spec.url is not a URL the operator may call.
	ReasonInvalidURL = "InvalidURL"
	// ReasonURLNotAllowed (Ready=False, and on a session or volume that asks the issuer for a token): spec.url is a
	// valid URL but not among the manager's --allowed-api-urls, so its key is never sent there.
	ReasonURLNotAllowed = "URLNotAllowed"
	// ReasonWithinRate (Capacity=True) and ReasonDemandExceedsRate (Capacity=False, with a Warning event).
	ReasonWithinRate        = "WithinRate"
	ReasonDemandExceedsRate = "DemandExceedsRate"
)

// Reasons of events that are not failures.
const (
	// ReasonShortLifetime (Warning): the granted lifetime is too short for mounted copies to catch up.
	ReasonShortLifetime = "ShortLifetime"
	// ReasonRecovered (Normal): a token was issued after failed attempts.
	ReasonRecovered = "Recovered"
	// ReasonRepaired (Normal): the last token was written back into a Secret deleted or edited by hand.
	ReasonRepaired = "Repaired"
	// ReasonForceRefreshDeferred (Normal event, and the Synced=True reason until then): a new force-refresh value
	// came within the minimum interval since the session's last token was issued; one new token is issued when the
	// interval has passed, whatever the number of values set meanwhile.
	ReasonForceRefreshDeferred = "ForceRefreshDeferred"
)

// Reasons of a pod's CSI volume (csi.burner.aerosol.com), besides the session reasons above that its mint shares
// (PolicyDenied, IssuerNotFound, RateLimited, ...): they show in the pod's events, as `MountVolume.SetUp failed ...
// REASON: message` for a first mount and as Warning events for a failed refresh.
const (
	// ReasonPodTokenRejected: the pod's ServiceAccount token failed the TokenReview, or is not bound to the pod the
	// request names.
	ReasonPodTokenRejected = "PodTokenRejected"
	// ReasonVolumeNotDeclared: the pod has no volume of this driver with exactly these attributes.
	ReasonVolumeNotDeclared = "VolumeNotDeclared"
	// ReasonMintEndpointUnavailable: the node plugin could not reach the manager, or got no answer it could read.
	ReasonMintEndpointUnavailable = "MintEndpointUnavailable"
	// ReasonVolumeWriteFailed: a token was minted but the volume's files or state could not be written on the node.
	ReasonVolumeWriteFailed = "VolumeWriteFailed"
)
