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

// SecretTemplate is the labels and annotations the operator keeps on a token Secret besides its own: added,
// changed and removed with the template, while keys that others set on the Secret are left alone. Keys under
// burner.aerosol.com/ and the operator's own label app.kubernetes.io/managed-by are refused; keys and label values
// are checked as Kubernetes checks them: at admission where the CRD's rules can (everything but the characters of
// a label value, whose check would cost more than the apiserver allows a rule), else by the operator, which
// refuses the template with the reason SecretTemplateInvalid.
// +kubebuilder:validation:XValidation:rule="!has(self.annotations) || self.annotations.map(k, k.size() + self.annotations[k].size()).sum() <= 65536",message="secretTemplate.annotations: keys and values together must not exceed 65536 characters"
type SecretTemplate struct {
	// labels to put on the token Secret: at most 64, keys and values as Kubernetes allows them.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('burner.aerosol.com/') && k != 'app.kubernetes.io/managed-by')",messageExpression="'label key ' + self.filter(k, k.startsWith('burner.aerosol.com/') || k == 'app.kubernetes.io/managed-by')[0] + ' is reserved: the operator sets it'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && k.indexOf('/') <= 253)",messageExpression="'label key ' + self.filter(k, !k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') || k.indexOf('/') > 253)[0] + ' is not a valid label key: an optional DNS subdomain prefix (at most 253 characters) and /, then a name of at most 63 alphanumerics, -, _ or ., starting and ending with an alphanumeric'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 63)",messageExpression="'the value of label ' + self.filter(k, self[k].size() > 63)[0] + ' is longer than 63 characters'"
	Labels map[string]string `json:"labels,omitempty"`

	// annotations to put on the token Secret: at most 64, keys as Kubernetes allows them, keys and values together
	// at most 65,536 characters (64 KiB of ASCII).
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('burner.aerosol.com/'))",messageExpression="'annotation key ' + self.filter(k, k.startsWith('burner.aerosol.com/'))[0] + ' is reserved: keys under burner.aerosol.com/ are the operator\\'s'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.lowerAscii().matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$') && k.indexOf('/') <= 253)",messageExpression="'annotation key ' + self.filter(k, !k.lowerAscii().matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$') || k.indexOf('/') > 253)[0] + ' is not a valid annotation key: an optional DNS subdomain prefix (at most 253 characters) and /, then a name of at most 63 alphanumerics, -, _ or ., starting and ending with an alphanumeric'"
	Annotations map[string]string `json:"annotations,omitempty"`
}
