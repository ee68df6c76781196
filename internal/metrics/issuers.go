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

package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Per-issuer capacity, labelled by the issuer's kind, namespace ("" for a ClusterBurnerIssuer) and name.
var (
	issuerLabels = []string{"kind", "namespace", "name"}
	issuerDemand = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "burner_issuer_demand_calls_per_second",
		Help: "API calls per second the issuer's sessions need to keep their tokens fresh.",
	}, issuerLabels)
	issuerAllowed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "burner_issuer_allowed_calls_per_second",
		Help: "API calls per second the per-key limiter currently allows with the issuer's key.",
	}, issuerLabels)
)

// SetCapacity records what an issuer's sessions need and what its key may do, in calls per second.
func SetCapacity(issuer burnerv1alpha1.GenericIssuer, demand, allowed float64) {
	issuerDemand.WithLabelValues(issuerValues(issuer)...).Set(demand)
	issuerAllowed.WithLabelValues(issuerValues(issuer)...).Set(allowed)
}

// ForgetCapacity drops an issuer's capacity series (deleted, or not Ready, so they would be stale).
func ForgetCapacity(issuer burnerv1alpha1.GenericIssuer) {
	issuerDemand.DeleteLabelValues(issuerValues(issuer)...)
	issuerAllowed.DeleteLabelValues(issuerValues(issuer)...)
}

func issuerValues(issuer burnerv1alpha1.GenericIssuer) []string {
	return []string{issuer.IssuerKind(), issuer.GetNamespace(), issuer.GetName()}
}
