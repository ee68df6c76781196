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
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/secrets"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// IssuerReconciler keeps the Ready condition of the issuers of one kind (ClusterBurnerIssuer or BurnerIssuer; one
// reconciler is registered for each): True when the key Secret exists, opts in and holds a key, and the URL is one
// the operator may call. Checking makes no API call: calls cost, and the sessions' own calls report what the API
// thinks of the key.
type IssuerReconciler struct {
	client.Client
	Recorder events.EventRecorder
	// Kind is the kind of issuer reconciled.
	Kind string
	// Keys locates an issuer's key Secret; Secrets reads it.
	Keys    issuer.Resolver
	Secrets *secrets.Reader
	// Limiter, if set, is asked the rate each issuer's key may do, which its Capacity condition weighs against the
	// demand of its sessions every capacityInterval.
	Limiter RateReporter
}

// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnerissuers;clusterburnerissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnerissuers/status;clusterburnerissuers/status,verbs=patch

// Reconcile sets the issuer's Ready and Capacity conditions and observedGeneration.
func (r *IssuerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj, err := r.newObject()
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			obj.SetNamespace(req.Namespace)
			obj.SetName(req.Name)
			metrics.ForgetCapacity(obj)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	status := obj.GetStatus()
	orig := status.DeepCopy()
	ready := metav1.Condition{Type: burnerv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: burnerv1alpha1.ReasonKeyAvailable, Message: "the API key Secret holds a key and the URL is valid",
		ObservedGeneration: obj.GetGeneration()}
	apiKey, err := r.check(ctx, obj)
	f, unusable := failure.As(err)
	if unusable {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	var res ctrl.Result
	switch {
	case unusable:
		// Without a usable key there is no rate to weigh: a Capacity left from before would be stale.
		meta.RemoveStatusCondition(&status.Conditions, burnerv1alpha1.ConditionCapacity)
		metrics.ForgetCapacity(obj)
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
	base := obj.DeepCopyObject().(burnerv1alpha1.GenericIssuer)
	*base.GetStatus() = *orig
	return res, client.IgnoreNotFound(r.Status().Patch(ctx, obj, client.MergeFrom(base)))
}

// check returns the issuer's API key, or a *failure.Error saying why the issuer cannot be used.
func (r *IssuerReconciler) check(ctx context.Context, obj burnerv1alpha1.GenericIssuer) (string, error) {
	if err := r.Keys.CheckURL(obj); err != nil {
		return "", err
	}
	// What the CRD's rules cannot check of the template (its label values' characters) would refuse every session.
	if err := tokensecret.CheckTemplate(&corev1.Secret{}, obj.GetSpec().SecretTemplate); err != nil {
		return "", failure.New(burnerv1alpha1.ReasonSecretTemplateInvalid, "spec.secretTemplate: %s", err.Error())
	}
	key, field := r.Keys.KeyOf(obj)
	apiKey, _, err := r.Secrets.APIKey(ctx, key, field)
	return apiKey, err
}

// issuersOfKey maps a Secret to the issuers of this kind whose key it is.
func (r *IssuerReconciler) issuersOfKey(ctx context.Context, secret client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, o := range issuersOfKey(ctx, r.Client, secret) {
		if o.IssuerKind() == r.Kind {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return reqs
}

func (r *IssuerReconciler) newObject() (burnerv1alpha1.GenericIssuer, error) {
	return burnerv1alpha1.NewIssuer(r.Kind)
}
