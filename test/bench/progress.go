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

package main

import (
	"context"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// progress follows the harness's informers: which sessions are Ready, which force-refresh value each token
// Secret answers, which value of the template's label it carries, and how many tokens each Secret has held (a new
// issuedAt is a new token). Keeping count from
// event handlers costs nothing between events, where listing 10,000 cached objects ten times a second would load
// the machine under test.
type progress struct {
	mu       sync.Mutex
	ready    map[string]bool
	answered map[string]string
	shaped   map[string]string
	issuedAt map[string]string
	tokens   map[string]int
}

func followProgress(ctx context.Context, c cache.Cache) (*progress, error) {
	p := &progress{ready: map[string]bool{}, answered: map[string]string{}, shaped: map[string]string{},
		issuedAt: map[string]string{}, tokens: map[string]int{}}
	follow := func(obj client.Object, into func(key string, o metav1.Object)) error {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		record := func(o any) {
			key, err := toolscache.DeletionHandlingMetaNamespaceKeyFunc(o)
			if m, ok := o.(metav1.Object); ok && err == nil {
				p.mu.Lock()
				into(key, m)
				p.mu.Unlock()
			}
		}
		_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: record, UpdateFunc: func(_, o any) { record(o) },
		})
		return err
	}
	if err := follow(&burnerv1alpha1.BurnerSession{}, func(key string, o metav1.Object) {
		c := meta.FindStatusCondition(o.(*burnerv1alpha1.BurnerSession).Status.Conditions, burnerv1alpha1.ConditionReady)
		p.ready[key] = c != nil && c.Status == metav1.ConditionTrue
	}); err != nil {
		return nil, err
	}
	if err := follow(&corev1.Secret{}, func(key string, o metav1.Object) {
		p.answered[key] = o.GetAnnotations()[tokensecret.ForceRefreshAnnotation]
		p.shaped[key] = o.GetLabels()[templateLabel]
		if issued := string(o.(*corev1.Secret).Data[tokensecret.KeyIssuedAt]); issued != p.issuedAt[key] {
			p.issuedAt[key] = issued
			p.tokens[key]++
		}
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// readyCount is the number of sessions whose Ready condition is True.
func (p *progress) readyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ready := range p.ready {
		if ready {
			n++
		}
	}
	return n
}

// answeredCount is the number of token Secrets that answered this force-refresh value.
func (p *progress) answeredCount(value string) int { return p.count(p.answered, value) }

// shapedCount is the number of token Secrets whose template label has this value.
func (p *progress) shapedCount(value string) int { return p.count(p.shaped, value) }

// count is the number of Secrets for which m holds value.
func (p *progress) count(m map[string]string, value string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range m {
		if v == value {
			n++
		}
	}
	return n
}

// tokenCounts is how many tokens each token Secret has held so far.
func (p *progress) tokenCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.tokens)
}
