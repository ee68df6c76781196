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
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// TemplateKeysAnnotation records the label and annotation keys the secretTemplate put on the Secret: only those are
// changed or removed when the template changes, so keys that others set are left alone. A record rather than
// server-side apply ownership, because the token is written with an update of the version read (which would share
// the ownership of every key it sends), and the record is read from the cache with the rest of the metadata.
const TemplateKeysAnnotation = "burner.aerosol.com/template-keys"

// reservedPrefix starts the keys only the operator writes.
const reservedPrefix = "burner.aerosol.com/"

// templateKeys is the value of TemplateKeysAnnotation.
type templateKeys struct {
	Labels      []string `json:"labels,omitempty"`
	Annotations []string `json:"annotations,omitempty"`
}

// MergeTemplates is the template of a session's Secret: its issuer's, with the session's own over it (the session's
// value wins per key).
func MergeTemplates(issuer, session burnerv1alpha1.SecretTemplate) burnerv1alpha1.SecretTemplate {
	merge := func(under, over map[string]string) map[string]string {
		if len(under) == 0 {
			return over
		}
		out := maps.Clone(under)
		maps.Copy(out, over)
		return out
	}
	return burnerv1alpha1.SecretTemplate{
		Labels: merge(issuer.Labels, session.Labels), Annotations: merge(issuer.Annotations, session.Annotations),
	}
}

// Shapes says whether ApplyTemplate has anything to do on s: a template, or the record of an earlier one.
func Shapes(s *corev1.Secret, t burnerv1alpha1.SecretTemplate) bool {
	return len(t.Labels)+len(t.Annotations) > 0 || (s != nil && s.Annotations[TemplateKeysAnnotation] != "")
}

// InSync says whether s carries t as ApplyTemplate would leave it (so that ApplyTemplate would not change it); s may
// be the cache's compacted copy, which holds only the TemplateState of its template.
func InSync(s *corev1.Secret, t burnerv1alpha1.SecretTemplate) bool {
	want := ""
	if len(t.Labels)+len(t.Annotations) > 0 {
		want = templateState(record(t), lookup(t.Labels), lookup(t.Annotations))
	}
	return TemplateState(s) == want
}

// TemplateState is a digest of the template's part of s: the record of the keys it set and the values of those
// keys on s ("" for no record). Two Secrets with the same state are alike to ApplyTemplate, whatever else they carry:
// the cache keeps this in place of the record and the values, whose size the template does not bound.
func TemplateState(s *corev1.Secret) string {
	rec := s.Annotations[TemplateKeysAnnotation]
	if rec == "" || strings.HasPrefix(rec, string(digestPrefix)) { // none, or compacted already
		return rec
	}
	return templateState(rec, lookup(s.Labels), lookup(s.Annotations))
}

// lookup reads a key of m, telling an absent key from an empty value.
func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// templateState digests the record rec with the label and annotation values of the keys it names.
func templateState(rec string, label, annotation func(string) (string, bool)) string {
	var keys templateKeys
	_ = json.Unmarshal([]byte(rec), &keys) // an unreadable record names no keys, and digests as itself
	h := sha256.New()
	field := func(s string) { h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s)))); h.Write([]byte(s)) }
	field(rec)
	for _, side := range []struct {
		keys []string
		get  func(string) (string, bool)
	}{{keys.Labels, label}, {keys.Annotations, annotation}} {
		for _, k := range side.keys {
			v, ok := side.get(k)
			field(k)
			if ok { // present, even empty, differs from absent
				field(v)
			} else {
				h.Write([]byte{0xff})
			}
		}
	}
	return string(digestPrefix) + hex.EncodeToString(h.Sum(nil))
}

// ApplyTemplate makes s's labels and annotations follow t: it sets t's keys, removes the keys the record says an
// earlier template set and t no longer has, and records t's keys. It reports whether s changed. s must be the Secret
// as read from the apiserver, not the cache's compacted copy.
func ApplyTemplate(s *corev1.Secret, t burnerv1alpha1.SecretTemplate) bool {
	labels, annotations := TemplateKeys(s)
	changed := follow(&s.Labels, labels, t.Labels)
	changed = follow(&s.Annotations, annotations, t.Annotations) || changed
	if len(t.Labels)+len(t.Annotations) == 0 {
		return remove(s.Annotations, TemplateKeysAnnotation) || changed
	}
	return put(&s.Annotations, TemplateKeysAnnotation, record(t)) || changed
}

// record is the value of TemplateKeysAnnotation for t.
func record(t burnerv1alpha1.SecretTemplate) string {
	rec, _ := json.Marshal(templateKeys{ // a struct of strings always marshals
		Labels: slices.Sorted(maps.Keys(t.Labels)), Annotations: slices.Sorted(maps.Keys(t.Annotations)),
	})
	return string(rec)
}

// TemplateKeys are the label and annotation keys that, as recorded on s, the secretTemplate put there.
func TemplateKeys(s *corev1.Secret) (labels, annotations []string) {
	var keys templateKeys
	_ = json.Unmarshal([]byte(s.Annotations[TemplateKeysAnnotation]), &keys) // an unreadable record is none
	return keys.Labels, keys.Annotations
}

// follow makes *m hold want, removing the keys of was that want lacks; it reports whether *m changed.
func follow(m *map[string]string, was []string, want map[string]string) bool {
	changed := false
	for _, k := range was {
		if _, kept := want[k]; !kept {
			changed = remove(*m, k) || changed
		}
	}
	for k, v := range want {
		changed = put(m, k, v) || changed
	}
	return changed
}

func put(m *map[string]string, k, v string) bool {
	if cur, ok := (*m)[k]; ok && cur == v {
		return false
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
	return true
}

func remove(m map[string]string, k string) bool {
	_, ok := m[k]
	delete(m, k)
	return ok
}

// CheckTemplate says why the apiserver would refuse s, shaped by t (ApplyTemplate): a key or a label value
// Kubernetes does not allow, a key the operator keeps for itself, or annotations over the apiserver's total size.
// Its message names the key, never a value.
func CheckTemplate(s *corev1.Secret, t burnerv1alpha1.SecretTemplate) error {
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		problems := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(t.Labels[k])...)
		if k == ManagedByLabel || strings.HasPrefix(k, reservedPrefix) {
			problems = append(problems, "the operator sets it")
		}
		if len(problems) > 0 {
			return fmt.Errorf("label %s: %s", k, problems[0])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Annotations)) {
		// Kubernetes checks annotation keys as qualified names, ignoring case.
		problems := validation.IsQualifiedName(strings.ToLower(k))
		if strings.HasPrefix(k, reservedPrefix) {
			problems = append(problems, "keys under "+reservedPrefix+" are the operator's")
		}
		if len(problems) > 0 {
			return fmt.Errorf("annotation %s: %s", k, problems[0])
		}
	}
	if err := apivalidation.ValidateAnnotationsSize(s.Annotations); err != nil {
		return fmt.Errorf("the Secret's %w", err)
	}
	return nil
}
