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
)

// APIKeyLabel opts a Secret in as an API key: the operator reads the data of a key Secret only if it carries this
// label with the value "true", so a session cannot make it send any other Secret to the API.
const APIKeyLabel = "burner.aerosol.com/api-key"

// Issuer kinds a BurnerSession can reference.
const (
	BurnerIssuerKind        = "BurnerIssuer"
	ClusterBurnerIssuerKind = "ClusterBurnerIssuer"
)

// IssuerPolicy says which sessions an issuer mints tokens for. Every rule must hold; an absent rule allows all.
type IssuerPolicy struct {
	// namespaceSelector selects the namespaces whose sessions may use a ClusterBurnerIssuer (absent: every
	// namespace). Not allowed on a BurnerIssuer, which serves its own namespace only.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// allowedWallets are the wallet addresses sessions may ask for (absent: any wallet).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=32
	// +kubebuilder:validation:items:MaxLength=44
	// +kubebuilder:validation:items:Pattern=`^[1-9A-HJ-NP-Za-km-z]+$`
	AllowedWallets []string `json:"allowedWallets,omitempty"`

	// allowedScopes are the scopes sessions may ask for (absent: all scopes). A session that omits scopes asks for
	// all of them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	AllowedScopes []Scope `json:"allowedScopes,omitempty"`

	// maxTTLSeconds is the longest ttlSeconds sessions may ask for (absent: 3600).
	// +optional
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=3600
	MaxTTLSeconds *int32 `json:"maxTTLSeconds,omitempty"`

	// maxSessionsPerNamespace is the most BurnerSessions of one namespace the issuer mints tokens for (absent: no
	// limit). Sessions the other rules allow are admitted in line: those already admitted keep their place, then the
	// oldest (creationTimestamp, then name); the rest get Ready=False with reason NamespaceSessionLimit and no call,
	// and are admitted as places free up. Pods' CSI volumes do not count.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxSessionsPerNamespace *int32 `json:"maxSessionsPerNamespace,omitempty"`
}

// BurnerIssuerSpec is the API endpoint, the key and the policy of an issuer.
// +kubebuilder:validation:XValidation:rule="!has(self.url) || self.url.startsWith('https://') || self.url.startsWith('http://[::1]') || self.url.matches('^http://(localhost|127[.][0-9]+[.][0-9]+[.][0-9]+)([:/].*)?$')",message="url must be https://, or http:// to a loopback host"
type BurnerIssuerSpec struct {
	// url of the Burner API; defaults to the manager's --burner-api-url. Plain http:// only for loopback hosts, and
	// only a URL the manager's --allowed-api-urls allows (otherwise the issuer is not Ready: URLNotAllowed).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// apiKeySecretRef names the Secret holding the API key: in the cluster resource namespace for a
	// ClusterBurnerIssuer (the manager's --cluster-resource-namespace), in the issuer's own namespace for a
	// BurnerIssuer. The Secret must carry the label burner.aerosol.com/api-key: "true".
	// +required
	APIKeySecretRef SecretKeySelector `json:"apiKeySecretRef"`

	// policy says which sessions the issuer mints tokens for.
	// +optional
	Policy *IssuerPolicy `json:"policy,omitempty"`

	// secretTemplate is the platform's default shape of its sessions' token Secrets: labels and annotations merged
	// under each session's own secretTemplate (the session's value wins per key).
	// +optional
	SecretTemplate SecretTemplate `json:"secretTemplate,omitzero"`

	// namespaceWeights shares the calls its key allows between the namespaces using it (ClusterBurnerIssuer
	// only): while several namespaces wait for calls, each gets calls in proportion to its weight. A namespace not
	// listed weighs 1.
	// +optional
	// +kubebuilder:validation:MaxProperties=1000
	// +kubebuilder:validation:XValidation:rule="self.all(ns, self[ns] >= 1 && self[ns] <= 100)",message="namespace weights are 1 to 100"
	NamespaceWeights map[string]int32 `json:"namespaceWeights,omitempty"`
}

// Condition types of an issuer besides Ready.
const (
	// ConditionCapacity is True while the calls per second its sessions need to stay fresh (their demand) fit in
	// the rate the API allows with its key, and False, with both figures, when they do not: tokens will then expire
	// before they can be refreshed.
	ConditionCapacity = "Capacity"
)

// BurnerIssuerStatus is the observed state of an issuer.
type BurnerIssuerStatus struct {
	// observedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the key Secret exists, is opted in and holds a key, and the URL is valid;
	// Capacity says whether the rate the API allows with the key covers what the issuer's sessions need.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bi;bissuer,categories=burner
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Key Secret",type=string,JSONPath=`.spec.apiKeySecretRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// BurnerIssuer holds a Burner API key and a policy for the BurnerSessions of its own namespace.
type BurnerIssuer struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`
	// +required
	// +kubebuilder:validation:XValidation:rule="!has(self.policy) || !has(self.policy.namespaceSelector)",message="policy.namespaceSelector applies to a ClusterBurnerIssuer only: a BurnerIssuer serves its own namespace"
	// +kubebuilder:validation:XValidation:rule="!has(self.namespaceWeights)",message="namespaceWeights applies to a ClusterBurnerIssuer only: a BurnerIssuer serves its own namespace"
	Spec BurnerIssuerSpec `json:"spec"`
	// +optional
	Status BurnerIssuerStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// BurnerIssuerList contains a list of BurnerIssuer.
type BurnerIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []BurnerIssuer `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cbi;cbissuer,categories=burner
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Key Secret",type=string,JSONPath=`.spec.apiKeySecretRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ClusterBurnerIssuer holds a Burner API key, in the cluster resource namespace, and a policy for BurnerSessions in
// any namespace it selects: the platform team's key, out of the app teams' reach.
type ClusterBurnerIssuer struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`
	// +required
	Spec BurnerIssuerSpec `json:"spec"`
	// +optional
	Status BurnerIssuerStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// ClusterBurnerIssuerList contains a list of ClusterBurnerIssuer.
type ClusterBurnerIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []ClusterBurnerIssuer `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &BurnerIssuer{}, &BurnerIssuerList{},
			&ClusterBurnerIssuer{}, &ClusterBurnerIssuerList{})
		return nil
	})
}
