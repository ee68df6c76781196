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
	"fmt"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/metrics"
)

// RateReporter tells the rate the per-key limiter currently allows with a key; *burnerapi.KeyLimiter implements it.
type RateReporter interface {
	Rate(apiKey string) rate.Limit
}

// capacityInterval is how often an issuer's demand is weighed against its key's rate: both move as sessions come
// and go and as the limiter learns the API's limit.
const capacityInterval = 30 * time.Second

// capacity weighs what the issuer's sessions need against what the key may do, records both as metrics, and says
// so in a condition: when demand exceeds the rate, tokens will expire before they can all be refreshed.
func (r *IssuerReconciler) capacity(ctx context.Context, obj burnerv1alpha1.GenericIssuer, apiKey string) (metav1.Condition, error) {
	demand, err := r.demand(ctx, obj)
	allowed := float64(r.Limiter.Rate(apiKey))
	cond := metav1.Condition{Type: burnerv1alpha1.ConditionCapacity, ObservedGeneration: obj.GetGeneration(),
		Status: metav1.ConditionTrue, Reason: burnerv1alpha1.ReasonWithinRate,
		Message: "the rate the API allows with the key covers what the sessions need"}
	if err != nil {
		return cond, err
	}
	metrics.SetCapacity(obj, demand, allowed)
	if demand > allowed {
		cond.Status, cond.Reason = metav1.ConditionFalse, burnerv1alpha1.ReasonDemandExceedsRate
		cond.Message = fmt.Sprintf("the sessions need %.1f calls/s to stay fresh and the API allows %.1f with this "+
			"key: tokens will expire before they are refreshed; raise the key's quota or split the sessions over "+
			"issuers with other keys", demand, allowed)
	}
	return cond, nil
}

// demand is the calls per second the issuer's admitted sessions need (those its policy refuses make no call): one
// per refresh interval each (the time from issue to refresh of its current token, or two thirds of its ttl before
// it has one).
func (r *IssuerReconciler) demand(ctx context.Context, obj burnerv1alpha1.GenericIssuer) (float64, error) {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, client.MatchingFields{issuerRefIndex: issuer.IndexKey(obj)},
		client.UnsafeDisableDeepCopy); err != nil {
		return 0, err
	}
	byNamespace := map[string][]*burnerv1alpha1.BurnerSession{}
	for i := range list.Items {
		bs := &list.Items[i]
		byNamespace[bs.Namespace] = append(byNamespace[bs.Namespace], bs)
	}
	var demand float64
	for namespace, sessions := range byNamespace {
		in, err := admitted(ctx, r.Client, obj.GetSpec().Policy, namespace, sessions)
		if client.IgnoreNotFound(err) != nil {
			return 0, err
		}
		for _, bs := range in {
			st := &bs.Status
			interval := time.Duration(bs.Spec.TTLSeconds) * time.Second * 2 / 3
			if st.IssuedAt != nil && st.RefreshAt != nil && st.RefreshAt.After(st.IssuedAt.Time) {
				interval = st.RefreshAt.Sub(st.IssuedAt.Time)
			}
			if interval > 0 {
				demand += 1 / interval.Seconds()
			}
		}
	}
	return demand, nil
}
