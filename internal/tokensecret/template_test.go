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

package tokensecret

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

type template = burnerv1alpha1.SecretTemplate

// TestApplyTemplateManagesOnlyItsOwnKeys: keys follow the template (added, changed, removed), keys others set stay,
// and a template with nothing left removes its record. The cache's compacted copy, which keeps only a digest of the
// template's part, says InSync exactly when ApplyTemplate would change nothing.
func TestApplyTemplateManagesOnlyItsOwnKeys(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Labels:      map[string]string{"backup.example/tier": "gold"},
		Annotations: map[string]string{"kubectl.kubernetes.io/note": "by hand"},
	}}
	steps := []struct {
		name              string
		tmpl              template
		labels, annotated map[string]string // without the record
		changed           bool
	}{
		{"create", template{Labels: map[string]string{"team": "pay", "empty": ""},
			Annotations: map[string]string{"velero.io/exclude-from-backup": "true"}},
			map[string]string{"backup.example/tier": "gold", "team": "pay", "empty": ""},
			map[string]string{"kubectl.kubernetes.io/note": "by hand", "velero.io/exclude-from-backup": "true"}, true},
		{"unchanged", template{Labels: map[string]string{"team": "pay", "empty": ""},
			Annotations: map[string]string{"velero.io/exclude-from-backup": "true"}},
			map[string]string{"backup.example/tier": "gold", "team": "pay", "empty": ""},
			map[string]string{"kubectl.kubernetes.io/note": "by hand", "velero.io/exclude-from-backup": "true"}, false},
		{"change, add, remove", template{Labels: map[string]string{"team": "payments", "cost-centre": "cc1"}},
			map[string]string{"backup.example/tier": "gold", "team": "payments", "cost-centre": "cc1"},
			map[string]string{"kubectl.kubernetes.io/note": "by hand"}, true},
		{"empty", template{}, map[string]string{"backup.example/tier": "gold"},
			map[string]string{"kubectl.kubernetes.io/note": "by hand"}, true},
		{"still empty", template{}, map[string]string{"backup.example/tier": "gold"},
			map[string]string{"kubectl.kubernetes.io/note": "by hand"}, false},
	}
	for _, step := range steps {
		compacted := s.DeepCopy()
		Compact(compacted)
		if InSync(compacted, step.tmpl) == step.changed || InSync(s, step.tmpl) == step.changed {
			t.Fatalf("%s: InSync of the compacted copy %v, of the Secret %v; ApplyTemplate changes it: %v", step.name,
				InSync(compacted, step.tmpl), InSync(s, step.tmpl), step.changed)
		}
		if got := ApplyTemplate(s, step.tmpl); got != step.changed {
			t.Fatalf("%s: changed = %v, want %v", step.name, got, step.changed)
		}
		record, recorded := s.Annotations[TemplateKeysAnnotation]
		if recorded != Shapes(nil, step.tmpl) {
			t.Fatalf("%s: record %q", step.name, record)
		}
		annotations := maps.Clone(s.Annotations)
		delete(annotations, TemplateKeysAnnotation)
		if !maps.Equal(s.Labels, step.labels) || !maps.Equal(annotations, step.annotated) {
			t.Fatalf("%s: labels %v annotations %v", step.name, s.Labels, s.Annotations)
		}
	}
}

// TestMergeTemplates: the session's value wins per key; the issuer's maps are not written to.
func TestMergeTemplates(t *testing.T) {
	issuer := template{Labels: map[string]string{"team": "platform", "velero.io/exclude-from-backup": "true"}}
	got := MergeTemplates(issuer, template{Labels: map[string]string{"team": "pay"},
		Annotations: map[string]string{"a": "1"}})
	want := map[string]string{"team": "pay", "velero.io/exclude-from-backup": "true"}
	if !maps.Equal(got.Labels, want) || got.Annotations["a"] != "1" || issuer.Labels["team"] != "platform" {
		t.Fatalf("merged %+v (issuer now %+v)", got, issuer)
	}
}

// TestCheckTemplate: what the apiserver would refuse is named by its key, never by its value.
func TestCheckTemplate(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	for _, tc := range []struct {
		name    string
		tmpl    template
		on      map[string]string // annotations already on the Secret
		wantErr string
	}{
		{name: "valid", tmpl: template{Labels: map[string]string{"a.b/c": "d"},
			Annotations: map[string]string{"Example.COM/x": big}}},
		{name: "label value", tmpl: template{Labels: map[string]string{"team": "secret value!"}},
			wantErr: "label team: a valid label must be"},
		{name: "label key", tmpl: template{Labels: map[string]string{"a/b/c": ""}}, wantErr: "label a/b/c:"},
		{name: "reserved label", tmpl: template{Labels: map[string]string{ManagedByLabel: "x"}},
			wantErr: "label app.kubernetes.io/managed-by: the operator sets it"},
		{name: "reserved annotation", tmpl: template{Annotations: map[string]string{SpecHashAnnotation: "x"}},
			wantErr: "annotation burner.aerosol.com/spec-hash: keys under"},
		{name: "too large with what is there", tmpl: template{Annotations: map[string]string{"b": big}},
			on: map[string]string{"a": big}, wantErr: "is larger than limit 262144"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: tc.on}}
			ApplyTemplate(s, tc.tmpl)
			err := CheckTemplate(s, tc.tmpl)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret value") {
				t.Fatalf("the error quotes a value: %v", err)
			}
		})
	}
}
