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

package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// withTemplate gives a session a secretTemplate.
func withTemplate(labels, annotations map[string]string) func(*burnerv1alpha1.BurnerSession) {
	return func(bs *burnerv1alpha1.BurnerSession) {
		bs.Spec.SecretTemplate = burnerv1alpha1.SecretTemplate{Labels: labels, Annotations: annotations}
	}
}

// wantMetadata checks that the Secret carries these labels and annotations (among others), and lacks the keys
// mapped to "-".
func (f *fixture) wantMetadata(name string, labels, annotations map[string]string) *corev1.Secret {
	f.t.Helper()
	s := f.secret(name)
	for _, m := range []struct {
		kind      string
		got, want map[string]string
	}{{"label", s.Labels, labels}, {"annotation", s.Annotations, annotations}} {
		for k, want := range m.want {
			got, ok := m.got[k]
			if want == "-" && ok || want != "-" && (!ok || got != want) {
				f.t.Fatalf("%s %s = %q (present: %v), want %q; all: %v", m.kind, k, got, ok, want, m.got)
			}
		}
	}
	return s
}

// TestSecretTemplateIsKeptInSync: the template is on the Secret from its creation; a key added, changed or
// removed in the template is added, changed or removed on the Secret, by its metadata alone, with no API call,
// also after a restart; what others put on the Secret stays.
func TestSecretTemplateIsKeptInSync(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", withTemplate(map[string]string{"example.com/cost-centre": "cc-1", "team": "pay"},
		map[string]string{"velero.io/exclude-from-backup": "true"}))
	f.reconcile("pay")
	s := f.wantMetadata("pay", map[string]string{"example.com/cost-centre": "cc-1", "team": "pay",
		tokensecret.ManagedByLabel: tokensecret.ManagedByValue}, map[string]string{"velero.io/exclude-from-backup": "true"})
	token := string(s.Data[tokensecret.KeyToken])

	// Others label and annotate the Secret, one of them with a key the template will take over.
	s.Labels["backup.example/tier"] = "gold"
	s.Annotations["kubectl.kubernetes.io/note"] = "by hand"
	s.Annotations["argocd.argoproj.io/compare-options"] = "set by hand"
	if err := env.Client.Update(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.update("pay", withTemplate(map[string]string{"team": "payments", "tier": "1"},
		map[string]string{"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}))
	f.reconcile("pay")
	f.wantMetadata("pay", map[string]string{"team": "payments", "tier": "1", "example.com/cost-centre": "-",
		"backup.example/tier": "gold"}, map[string]string{"argocd.argoproj.io/compare-options": "IgnoreExtraneous",
		"velero.io/exclude-from-backup": "-", "kubectl.kubernetes.io/note": "by hand"})

	// After a restart nothing is remembered: the Secret's record of the template's keys is enough.
	f.r = f.newReconciler()
	f.update("pay", withTemplate(nil, nil))
	f.reconcile("pay")
	s = f.wantMetadata("pay", map[string]string{"team": "-", "tier": "-", "backup.example/tier": "gold"},
		map[string]string{"argocd.argoproj.io/compare-options": "-", tokensecret.TemplateKeysAnnotation: "-",
			"kubectl.kubernetes.io/note": "by hand"})
	f.wantMints(1)
	if string(s.Data[tokensecret.KeyToken]) != token {
		t.Fatal("a template change replaced the token")
	}
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	if bs := f.session("pay"); bs.Status.ObservedGeneration != bs.Generation {
		t.Fatalf("observedGeneration %d, generation %d", bs.Status.ObservedGeneration, bs.Generation)
	}
	f.wantNoEvents()

	// Nothing left to change: no write.
	version := s.ResourceVersion
	f.reconcile("pay")
	if f.secret("pay").ResourceVersion != version {
		t.Fatal("the Secret was written with nothing to change")
	}
}

// TestReshapeWritesOnlyMetadata: the manager's cache holds token Secrets compacted (a digest in place of the
// token); reshaping such a copy patches the labels and annotations and leaves the token in the apiserver as it is.
func TestReshapeWritesOnlyMetadata(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	full := f.secret("pay")
	cached := full.DeepCopy()
	tokensecret.Compact(cached)
	bs := f.session("pay")
	withTemplate(map[string]string{"team": "pay"}, nil)(bs)
	in := policy.NewInput(bs, cached, f.clock.Now())
	changed, refused := shape(in, bs.Spec.SecretTemplate)
	if !changed || refused != nil {
		t.Fatalf("changed %v, refused %v", changed, refused)
	}
	if err := f.r.reshape(f.ctx, in, bs.Spec.SecretTemplate); err != nil {
		t.Fatal(err)
	}
	s := f.wantMetadata("pay", map[string]string{"team": "pay"}, nil)
	if !tokensecret.SameData(s, full) || string(s.Data[tokensecret.KeyToken]) != string(full.Data[tokensecret.KeyToken]) {
		t.Fatal("reshaping changed the Secret's data")
	}
	// A copy older than the Secret is a conflict, not an overwrite.
	if err := f.r.reshape(f.ctx, in, bs.Spec.SecretTemplate); err == nil {
		t.Fatal("a reshape from a stale copy was not refused")
	}
}

// TestIssuerTemplateIsMergedUnderTheSessions: the platform's default (a ClusterBurnerIssuer's) reaches every
// session's Secret, the session's value winning per key, and a change of it reaches them without a call.
func TestIssuerTemplateIsMergedUnderTheSessions(t *testing.T) {
	f := newFixture(t)
	name := f.clusterIssuer(nil)
	f.setIssuerTemplate(name, burnerv1alpha1.SecretTemplate{
		Labels:      map[string]string{"velero.io/exclude-from-backup": "true", "team": "platform"},
		Annotations: map[string]string{"reflector.v1.k8s.emberstack.com/reflection-allowed": "false"},
	})
	use := useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name)
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) {
		use(bs)
		withTemplate(map[string]string{"team": "pay"}, nil)(bs)
	})
	f.reconcile("pay")
	f.wantMetadata("pay", map[string]string{"velero.io/exclude-from-backup": "true", "team": "pay"},
		map[string]string{"reflector.v1.k8s.emberstack.com/reflection-allowed": "false"})

	f.setIssuerTemplate(name, burnerv1alpha1.SecretTemplate{Labels: map[string]string{"team": "platform"}})
	f.reconcile("pay")
	f.wantMetadata("pay", map[string]string{"velero.io/exclude-from-backup": "-", "team": "pay"},
		map[string]string{"reflector.v1.k8s.emberstack.com/reflection-allowed": "-"})
	f.wantMints(1)
}

// setIssuerTemplate sets a ClusterBurnerIssuer's secretTemplate.
func (f *fixture) setIssuerTemplate(name string, tmpl burnerv1alpha1.SecretTemplate) {
	f.t.Helper()
	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
		f.t.Fatal(err)
	}
	ci.Spec.SecretTemplate = tmpl
	if err := env.Client.Update(f.ctx, ci); err != nil {
		f.t.Fatal(err)
	}
}

// TestDeletedSecretIsRecreatedWithItsTemplate: a Secret deleted by hand comes back with the template, restored from
// memory or, after a restart, with a new token.
func TestDeletedSecretIsRecreatedWithItsTemplate(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", withTemplate(map[string]string{"team": "pay"},
		map[string]string{"velero.io/exclude-from-backup": "true"}))
	f.reconcile("pay")
	for i, restart := range []bool{false, true} {
		if restart {
			f.r = f.newReconciler()
		}
		if err := env.Client.Delete(f.ctx, f.secret("pay")); err != nil {
			t.Fatal(err)
		}
		f.reconcile("pay")
		f.wantMetadata("pay", map[string]string{"team": "pay"}, map[string]string{"velero.io/exclude-from-backup": "true"})
		f.wantMints(1 + i)
	}
}

// TestTemplateTheSecretCannotCarryIsRefused: what the CRD's rules cannot check (a label value's characters) and a
// template that would take the Secret's annotations over the apiserver's limit are refused with a reason naming the
// key or the limit, with no call and no write, not retried in a loop of failed writes.
func TestTemplateTheSecretCannotCarryIsRefused(t *testing.T) {
	f := newFixture(t)
	f.createSession("bad-value", withTemplate(map[string]string{"team": "pay ments"}, nil))
	f.reconcile("bad-value")
	f.wantMints(0)
	if f.secret("bad-value") != nil {
		t.Fatal("a Secret was written with a template the apiserver refuses")
	}
	f.wantCondition("bad-value", burnerv1alpha1.ConditionReady, metav1.ConditionFalse,
		burnerv1alpha1.ReasonSecretTemplateInvalid)
	if c := f.condition("bad-value", burnerv1alpha1.ConditionReady); !strings.Contains(c.Message, "label team:") ||
		strings.Contains(c.Message, "pay ments") {
		t.Fatalf("Ready message %q does not name the key alone", c.Message)
	}

	f.createSession("pay", nil)
	f.reconcile("pay")
	s := f.secret("pay")
	s.Annotations["example.com/blob"] = strings.Repeat("x", 200<<10) // someone else's, within the limit
	if err := env.Client.Update(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.update("pay", withTemplate(nil, map[string]string{"example.com/big": strings.Repeat("y", 60<<10)}))
	res := f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse,
		burnerv1alpha1.ReasonSecretTemplateInvalid)
	f.wantEvent(burnerv1alpha1.ReasonSecretTemplateInvalid)
	if c := f.condition("pay", burnerv1alpha1.ConditionReady); !strings.Contains(c.Message, "larger than limit") {
		t.Fatalf("Ready message %q does not say the limit", c.Message)
	}
	if f.secret("pay").ResourceVersion != s.ResourceVersion || res.RequeueAfter != 0 {
		t.Fatalf("the Secret was written, or the refusal requeued (%s)", res.RequeueAfter)
	}
	f.wantMints(1)
}

// TestIssuerWithATemplateItsSecretsCannotCarry: an issuer whose template holds what the CRD's rules cannot check is
// not Ready, with the key named, and its sessions are refused with no call.
func TestIssuerWithATemplateItsSecretsCannotCarry(t *testing.T) {
	f := newFixture(t)
	name := f.clusterIssuer(nil)
	f.setIssuerTemplate(name, burnerv1alpha1.SecretTemplate{Labels: map[string]string{"owner": "platform team"}})
	f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name})
	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionReady); c == nil ||
		c.Reason != burnerv1alpha1.ReasonSecretTemplateInvalid || !strings.Contains(c.Message, "label owner:") {
		t.Fatalf("issuer Ready = %+v", c)
	}
	f.createSession("pay", useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
	f.reconcile("pay")
	f.wantMints(0)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonIssuerNotReady)
}
