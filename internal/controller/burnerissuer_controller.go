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
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/issuer"
)

// IssuerReconciler keeps the Ready condition of the issuers of one kind: True when the key Secret exists, opts in
// and holds a key, and the URL is one the operator may call. Checking makes no API call: calls cost, and the
// sessions' own calls report what the API thinks of the key.
type IssuerReconciler struct {
	client.Client
	Recorder events.EventRecorder
	// Cluster selects ClusterBurnerIssuers (whose key Secrets are in ClusterResourceNamespace); else BurnerIssuers.
	Cluster                  bool
	ClusterResourceNamespace string
	// Limiter, if set, is asked the rate each issuer's key may do, which its Capacity condition weighs against the
	// demand of its sessions every capacityInterval.
	Limiter RateReporter

	secrets *secretReader
}

// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnerissuers;clusterburnerissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnerissuers/status;clusterburnerissuers/status,verbs=patch

// Reconcile sets the issuer's Ready and Capacity conditions and observedGeneration.
func (r *IssuerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObject()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			obj.SetNamespace(req.Namespace)
			obj.SetName(req.Name)
			r.forgetCapacity(obj)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	_, status := issuer.Parts(obj)
	orig := status.DeepCopy()
	ready := metav1.Condition{Type: burnerv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: burnerv1alpha1.ReasonKeyAvailable, Message: "the API key Secret holds a key and the URL is valid",
		ObservedGeneration: obj.GetGeneration()}
	apiKey, f := r.check(ctx, obj)
	if f != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	var res ctrl.Result
	switch {
	case f != nil:
		// Without a usable key there is no rate to weigh: a Capacity left from before would be stale.
		meta.RemoveStatusCondition(&status.Conditions, burnerv1alpha1.ConditionCapacity)
		r.forgetCapacity(obj)
	case r.Limiter != nil:
		capacity, err := r.capacity(ctx, obj, apiKey)
		if err != nil {
			return res, err
		}
		meta.SetStatusCondition(&status.Conditions, capacity)
		res.RequeueAfter = capacityInterval
	}
	status.ObservedGeneration = obj.GetGeneration()
	if apiequality.Semantic.DeepEqual(orig, status) {
		return res, nil
	}
	for _, c := range status.Conditions {
		if was := meta.FindStatusCondition(orig.Conditions, c.Type); c.Status == metav1.ConditionFalse &&
			(was == nil || was.Status != c.Status || was.Reason != c.Reason) {
			r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, c.Reason, "Check", "%s", c.Message)
		}
	}
	patch := client.MergeFrom(r.withStatus(obj, orig))
	return res, client.IgnoreNotFound(r.Status().Patch(ctx, obj, patch))
}

// check returns the issuer's API key, or why the issuer cannot be used.
func (r *IssuerReconciler) check(ctx context.Context, obj client.Object) (string, *failure) {
	if spec, _ := issuer.Parts(obj); spec.URL != "" {
		if _, err := burnerapi.ValidateBaseURL(spec.URL); err != nil {
			return "", &failure{Reason: burnerv1alpha1.ReasonInvalidURL, Message: "spec.url: " + err.Error()}
		}
	}
	key, field := issuer.Resolver{ClusterResourceNamespace: r.ClusterResourceNamespace}.KeyOf(obj)
	apiKey, _, f := r.secrets.apiKey(ctx, key, field)
	return apiKey, f
}

// issuersOfKey maps a Secret to the issuers of this kind whose key it is.
func (r *IssuerReconciler) issuersOfKey(ctx context.Context, secret client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, o := range issuersOfKey(ctx, r.Client, secret) {
		if _, cluster := o.(*burnerv1alpha1.ClusterBurnerIssuer); cluster == r.Cluster {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return reqs
}

func (r *IssuerReconciler) kind() string {
	if r.Cluster {
		return burnerv1alpha1.ClusterBurnerIssuerKind
	}
	return burnerv1alpha1.BurnerIssuerKind
}

func (r *IssuerReconciler) newObject() client.Object {
	if r.Cluster {
		return &burnerv1alpha1.ClusterBurnerIssuer{}
	}
	return &burnerv1alpha1.BurnerIssuer{}
}

// withStatus is a copy of obj carrying status, the base of a merge patch.
func (r *IssuerReconciler) withStatus(obj client.Object, status *burnerv1alpha1.BurnerIssuerStatus) client.Object {
	base := obj.DeepCopyObject().(client.Object)
	_, s := issuer.Parts(base)
	*s = *status
	return base
}

// readyOf is an issuer's Ready status and reason, for telling whether it flipped.
func readyOf(obj client.Object) string {
	_, status := issuer.Parts(obj)
	if c := meta.FindStatusCondition(status.Conditions, burnerv1alpha1.ConditionReady); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}
