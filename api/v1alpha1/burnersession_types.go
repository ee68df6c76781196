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

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// Scope is a capability a Burner session token grants.
// +kubebuilder:validation:Enum=wallet:read;transactions:build;transactions:submit
type Scope string

// The scopes the Burner API knows: burnerapi's list, the one source (the Enum marker above cannot name it; a test
// keeps the two equal).
const (
	ScopeWalletRead         Scope = burnerapi.ScopeWalletRead
	ScopeTransactionsBuild  Scope = burnerapi.ScopeTransactionsBuild
	ScopeTransactionsSubmit Scope = burnerapi.ScopeTransactionsSubmit
)

// AllScopes is what a session that omits spec.scopes asks for.
func AllScopes() []Scope {
	out := make([]Scope, len(burnerapi.AllScopes))
	for i, s := range burnerapi.AllScopes {
		out[i] = Scope(s)
	}
	return out
}

// ForceRefreshAnnotation asks for exactly one new token each time its value changes.
const ForceRefreshAnnotation = "burner.aerosol.com/force-refresh"

// DefaultAPIKeySecretKey is the key read from the API key Secret when apiKeySecretRef.key is not set.
const DefaultAPIKeySecretKey = "apiKey"

// SecretKeySelector names one key of a Secret in the BurnerSession's namespace.
type SecretKeySelector struct {
	// name of the Secret, in the same namespace as the BurnerSession.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key in the Secret's data that holds the API key.
	// +optional
	// +kubebuilder:default=apiKey
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// IssuerReference names the issuer a session gets its tokens from.
type IssuerReference struct {
	// kind is BurnerIssuer (in the session's namespace) or ClusterBurnerIssuer.
	// +optional
	// +kubebuilder:default=BurnerIssuer
	// +kubebuilder:validation:Enum=BurnerIssuer;ClusterBurnerIssuer
	Kind string `json:"kind,omitempty"`

	// name of the issuer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// BurnerSessionSpec declares the session token to keep valid in a Secret.
// +kubebuilder:validation:XValidation:rule="has(self.secretName) == has(oldSelf.secretName) && (!has(self.secretName) || self.secretName == oldSelf.secretName)",message="secretName is immutable: create a new BurnerSession to write to another Secret"
// +kubebuilder:validation:XValidation:rule="has(self.issuerRef) != has(self.apiKeySecretRef)",message="set exactly one of issuerRef and apiKeySecretRef"
type BurnerSessionSpec struct {
	// walletAddress is the Solana address (base58, 32 bytes) the token is bound to.
	// +required
	// +kubebuilder:validation:MinLength=32
	// +kubebuilder:validation:MaxLength=44
	// +kubebuilder:validation:Pattern=`^[1-9A-HJ-NP-Za-km-z]+$`
	WalletAddress string `json:"walletAddress"`

	// scopes the token grants. Omitted means all scopes.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	Scopes []Scope `json:"scopes,omitempty"`

	// ttlSeconds is the requested token lifetime. The API's expiresAt, not this value, decides when the token is
	// refreshed: with a third of the lifetime left, and at least 120 s before expiry, the time a kubelet may take
	// to update a mounted copy of the Secret (worst measured 87 s) plus an API call and a retry. A pod that mounts
	// the token Secret is safe from 240 on; below, the token is refreshed at half-life and a mounted copy may be
	// expired for a while (the apiserver warns at admission, and the Ready message says so): read the Secret
	// through the API instead, or raise ttlSeconds.
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=3600
	TTLSeconds int32 `json:"ttlSeconds,omitempty"`

	// apiKeySecretRef names the Secret (same namespace) holding the Burner API key; it must carry the label
	// burner.aerosol.com/api-key: "true". Exactly one of this and issuerRef.
	// +optional
	APIKeySecretRef SecretKeySelector `json:"apiKeySecretRef,omitzero"`

	// issuerRef names the BurnerIssuer (same namespace) or ClusterBurnerIssuer that holds the API key and the
	// policy. Exactly one of this and apiKeySecretRef.
	// +optional
	IssuerRef *IssuerReference `json:"issuerRef,omitempty"`

	// secretName is the Secret the token is written to; it defaults to the BurnerSession's name. Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// secretTemplate shapes the token Secret for its consumers and the cluster's policies: labels and annotations
	// copied onto it and kept in sync. Merged over the issuer's own secretTemplate (this one wins per key).
	// +optional
	SecretTemplate SecretTemplate `json:"secretTemplate,omitzero"`
}

// Condition types of a BurnerSession.
const (
	// ConditionReady is True while the token Secret holds an unexpired token for the current spec.
	ConditionReady = "Ready"
	// ConditionSynced is True when the last attempt to issue or refresh the token succeeded (or none was due), and
	// False with the failure's reason while issuing or refreshing fails.
	ConditionSynced = "Synced"
)

// BurnerSessionStatus is the observed state of a BurnerSession. The token Secret is the source of truth; this
// mirrors it and records failures so that backoff survives a restart.
type BurnerSessionStatus struct {
	// observedGeneration is the generation last reconciled successfully (without a failure); while a generation
	// fails, it stays at the last one that did not, and the conditions' observedGeneration show what was tried.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready and Synced.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// secretName is the Secret holding the token.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// issuedAt is when the current token was issued. The token fields are cleared while the Secret holds no token of
	// the session's (deleted and not yet replaced, or a foreign Secret in its place).
	// +optional
	IssuedAt *metav1.Time `json:"issuedAt,omitempty"`

	// expiresAt is when the current token expires, as the API reported it.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// refreshAt is when the operator plans to replace the current token.
	// +optional
	RefreshAt *metav1.Time `json:"refreshAt,omitempty"`

	// grantedScopes are the scopes the API granted to the current token.
	// +optional
	// +listType=atomic
	GrantedScopes []string `json:"grantedScopes,omitempty"`

	// failedAttempts counts consecutive failed attempts to issue a token; reset on success or on a spec change.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`

	// lastFailureTime is when the last attempt failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`

	// lastFailureReason is the condition reason of the last failure.
	// +optional
	LastFailureReason string `json:"lastFailureReason,omitempty"`

	// lastFailureInputs fingerprints what the failed attempt was made with (spec, force-refresh value, API key
	// Secret version), so that a failure needing a change is not retried until one of them changes.
	// +optional
	LastFailureInputs string `json:"lastFailureInputs,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bsess,categories=burner
// +kubebuilder:printcolumn:name="Wallet",type=string,JSONPath=`.spec.walletAddress`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`,description="When the token expires (RFC 3339): a date column would print <invalid> for a time in the future"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// BurnerSession keeps a short-lived Burner API session token, bound to one wallet, valid in a Secret.
type BurnerSession struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec defines the desired state of BurnerSession
	// +required
	Spec BurnerSessionSpec `json:"spec"`

	// status defines the observed state of BurnerSession
	// +optional
	Status BurnerSessionStatus `json:"status,omitzero"`
}

// TokenSecretName is the name of the Secret the token is written to.
func (b *BurnerSession) TokenSecretName() string {
	if b.Spec.SecretName != "" {
		return b.Spec.SecretName
	}
	return b.Name
}

// +kubebuilder:object:root=true

// BurnerSessionList contains a list of BurnerSession
type BurnerSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []BurnerSession `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &BurnerSession{}, &BurnerSessionList{})
		return nil
	})
}
