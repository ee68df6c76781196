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
	"maps"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// lastIssued remembers, per session, the last token this process wrote. It only saves mints: the Secret stays the
// source of truth, and a restart starts empty. A token is forgotten once it has expired, when its session is refused
// or deleted, so that memory holds at most one live token per session that may still be written.
type lastIssued struct {
	m sync.Map // types.NamespacedName -> lastToken
}

type lastToken struct {
	uid   types.UID
	token tokensecret.Token
	// written: the apiserver accepted a write of the token (the cache may not show it yet).
	written bool
}

// remember keeps t for bs; written says whether the apiserver has accepted a write of it.
func (c *lastIssued) remember(bs *burnerv1alpha1.BurnerSession, t tokensecret.Token, written bool) {
	c.m.Store(types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name},
		lastToken{uid: bs.UID, token: t, written: written})
}

// markWritten records that the token remembered for bs was written.
func (c *lastIssued) markWritten(bs *burnerv1alpha1.BurnerSession) {
	if t, ok := c.token(bs); ok {
		c.remember(bs, t, true)
	}
}

// written says whether the token remembered for bs was written.
func (c *lastIssued) written(bs *burnerv1alpha1.BurnerSession) bool {
	last, ok := c.load(bs)
	return ok && last.written
}

// token is the token remembered for bs.
func (c *lastIssued) token(bs *burnerv1alpha1.BurnerSession) (tokensecret.Token, bool) {
	last, ok := c.load(bs)
	return last.token, ok
}

// load is what is remembered for this very session (not for an earlier one of the same name).
func (c *lastIssued) load(bs *burnerv1alpha1.BurnerSession) (lastToken, bool) {
	v, ok := c.m.Load(types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name})
	if !ok || v.(lastToken).uid != bs.UID {
		return lastToken{}, false
	}
	return v.(lastToken), true
}

func (c *lastIssued) forget(key types.NamespacedName) { c.m.Delete(key) }

// restore returns the last token issued for this very session, when the token Secret rewritten with it would need
// no new token (the chain that decides minting, run on what would be written) and the observed Secret differs from
// it: deleted, or its data or labels edited by hand. A token that has expired is forgotten: it can never be restored.
func (c *lastIssued) restore(in policy.Input) (tokensecret.Token, bool) {
	bs := in.Session
	last, ok := c.token(bs)
	if !ok {
		return tokensecret.Token{}, false
	}
	if !in.Now.Before(last.ExpiresAt) {
		c.forget(types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name})
		return tokensecret.Token{}, false
	}
	want := tokenSecretWith(bs, in.Secret, last)
	if _, _, due := policy.NeedsToken.Evaluate(policy.NewInput(bs, want, in.Now)); due {
		return tokensecret.Token{}, false
	}
	if in.Secret != nil && maps.Equal(want.Labels, in.Secret.Labels) && tokensecret.SameData(want, in.Secret) {
		return tokensecret.Token{}, false
	}
	return last, true
}
