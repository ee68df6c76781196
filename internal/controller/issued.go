package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// issuedTokens remembers, per session, the last token this process wrote and what it was issued for. It is only
// an optimisation against minting: the Secret stays the source of truth, and a restart starts empty.
type issuedTokens struct {
	m sync.Map // types.NamespacedName -> issuedToken
}

type issuedToken struct {
	uid          types.UID
	specHash     string
	forceRefresh string
	token        tokensecret.Issued
}

func (c *issuedTokens) remember(bs *burnerv1alpha1.BurnerSession, t tokensecret.Issued) {
	c.m.Store(types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name}, issuedToken{
		uid: bs.UID, specHash: tokensecret.SpecHash(bs.Spec),
		forceRefresh: bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation], token: t,
	})
}

func (c *issuedTokens) forget(key types.NamespacedName) { c.m.Delete(key) }

// reusable returns the remembered token if it was issued for this very session, spec and force-refresh value and
// is not yet due for refresh.
func (c *issuedTokens) reusable(bs *burnerv1alpha1.BurnerSession, now time.Time) (tokensecret.Issued, bool) {
	v, ok := c.m.Load(types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name})
	if !ok {
		return tokensecret.Issued{}, false
	}
	it := v.(issuedToken)
	t := it.token
	if it.uid != bs.UID || it.specHash != tokensecret.SpecHash(bs.Spec) ||
		it.forceRefresh != bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] ||
		!now.Before(policy.RefreshTime(t.IssuedAt, t.ExpiresAt, string(bs.UID))) {
		return tokensecret.Issued{}, false
	}
	return t, true
}
