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

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// admitted returns those of sessions, all of one namespace and referencing one issuer, that the issuer's policy p
// admits: the ones its rules permit (policy.Permitted) and are not being deleted, and of those the first
// maxSessionsPerNamespace in line (policy.InLine). The session reconciler refuses the others; the issuer's Capacity
// counts only these.
func admitted(
	ctx context.Context, c client.Reader, p *burnerv1alpha1.IssuerPolicy, namespace string,
	sessions []*burnerv1alpha1.BurnerSession,
) ([]*burnerv1alpha1.BurnerSession, error) {
	nsLabels, err := mint.NamespaceLabels(ctx, c, namespace, p)
	if err != nil {
		return nil, err
	}
	var permitted []*burnerv1alpha1.BurnerSession
	for _, bs := range sessions {
		if !bs.DeletionTimestamp.IsZero() {
			continue
		}
		if p != nil {
			if _, _, denied := policy.Permitted.Evaluate(mint.ForSession(bs).Application(p, nsLabels)); denied {
				continue
			}
		}
		permitted = append(permitted, bs)
	}
	if p == nil {
		return permitted, nil
	}
	return policy.InLine(permitted, p.MaxSessionsPerNamespace), nil
}

// seat refuses bs, which its issuer's policy p permits otherwise, when the places p.maxSessionsPerNamespace allows in
// its namespace are held by sessions ahead of it in line; nil when it holds one (or p sets no limit).
func (r *BurnerSessionReconciler) seat(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession, p *burnerv1alpha1.IssuerPolicy,
) (*failure.Error, error) {
	if p == nil || p.MaxSessionsPerNamespace == nil {
		return nil, nil
	}
	siblings, err := r.siblings(ctx, bs)
	if err != nil {
		return nil, err
	}
	in, err := admitted(ctx, r.Client, p, bs.Namespace, siblings)
	if err != nil {
		return nil, err
	}
	for _, s := range in {
		if s.UID == bs.UID {
			return nil, nil
		}
	}
	return failure.New(burnerv1alpha1.ReasonNamespaceSessionLimit, "the issuer's policy.maxSessionsPerNamespace "+
		"allows %d sessions in namespace %q and as many are ahead of this one; it is admitted when one of them is "+
		"deleted or leaves the issuer, or when the limit is raised", *p.MaxSessionsPerNamespace, bs.Namespace), nil
}

// siblings lists, from the cache, the sessions of bs's namespace that reference the same issuer (bs included). They
// are not copied: the caller only reads them.
func (r *BurnerSessionReconciler) siblings(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession,
) ([]*burnerv1alpha1.BurnerSession, error) {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, client.InNamespace(bs.Namespace),
		client.MatchingFields{issuerRefIndex: issuer.RefOf(bs)}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*burnerv1alpha1.BurnerSession, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// sessionsWaitingForASeat maps a session that was deleted, or whose spec changed (it may have left its issuer, or
// now break its policy), to the sessions of its namespace and issuer waiting for a place under
// maxSessionsPerNamespace: one of them may take the place it leaves. Only those are mapped, not every sibling.
func (r *BurnerSessionReconciler) sessionsWaitingForASeat(ctx context.Context, o client.Object) []reconcile.Request {
	bs := o.(*burnerv1alpha1.BurnerSession)
	if bs.Spec.IssuerRef == nil {
		return nil
	}
	siblings, err := r.siblings(ctx, bs)
	if err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, s := range siblings {
		if ready := meta.FindStatusCondition(s.Status.Conditions, burnerv1alpha1.ConditionReady); ready != nil &&
			ready.Reason == burnerv1alpha1.ReasonNamespaceSessionLimit && s.UID != bs.UID {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s)})
		}
	}
	return reqs
}
