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

package secrets

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

// maxBytesPerObject bounds what the manager's caches may keep of one object, whatever users put on it: the identity,
// version and the few fields decisions read (a session's spec and status, a token Secret's compacted data) take
// about one to two kilobytes in memory. Before the transforms kept only those, each object below cost hundreds of
// kilobytes.
const maxBytesPerObject = 4 << 10

// TestHugeUserMetadataDoesNotGrowTheCache: Secrets (with the managed-by label, with a forged controller reference to
// a BurnerSession, or with neither) and BurnerSessions carrying as much as the apiserver accepts in labels,
// annotations, owner references and data grow the caches' heap by less than maxBytesPerObject each. The growth is
// measured over a second batch, after a first one has sized the watches' buffers, which do not grow per object.
func TestHugeUserMetadataDoesNotGrowTheCache(t *testing.T) {
	ctx, ns := t.Context(), env.Namespace(t)
	main, others := startCaches(t, ns)
	created := 0
	batch := func() {
		t.Helper()
		created += createHostileObjects(t, ns, created, 10)
		waitFor(t, func() bool { return cached(ctx, t, main, others, ns) == created }, "the caches never saw every object")
	}
	batch()
	before := heap()
	n := created
	batch()
	per := (int64(heap()) - int64(before)) / int64(created-n)
	t.Logf("heap growth per object: %d bytes", per)
	if per > maxBytesPerObject {
		t.Fatalf("each object users control grew the caches' heap by %d bytes, want at most %d", per, maxBytesPerObject)
	}
}

// startCaches starts the manager's two caches of this namespace, as internal/controller.Setup does, with an
// informer for each kind the operator watches that users control.
func startCaches(t *testing.T, ns string) (main, others cache.Cache) {
	t.Helper()
	ctx := t.Context()
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	opts := CacheOptions([]string{ns})
	opts.Scheme, opts.Mapper = env.Client.Scheme(), mapper
	main, err = cache.New(env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	others, err = OthersCache(env.Config, env.Client.Scheme(), mapper, []string{ns})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []cache.Cache{main, others} {
		go func() { _ = c.Start(ctx) }()
	}
	for _, obj := range []client.Object{&corev1.Secret{}, &burnerv1alpha1.BurnerSession{}} {
		if _, err := main.GetInformer(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := others.GetInformer(ctx, Metadata()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cache.Cache{main, others} {
		if !c.WaitForCacheSync(ctx) {
			t.Fatal("caches not synced")
		}
	}
	return main, others
}

// cached counts the objects of ns the caches hold.
func cached(ctx context.Context, t *testing.T, main, others cache.Cache, ns string) int {
	t.Helper()
	var secrets corev1.SecretList
	var sessions burnerv1alpha1.BurnerSessionList
	meta := &metav1.PartialObjectMetadataList{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	for _, l := range []struct {
		c    cache.Cache
		list client.ObjectList
	}{{main, &secrets}, {main, &sessions}, {others, meta}} {
		if err := l.c.List(ctx, l.list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	return len(secrets.Items) + len(sessions.Items) + len(meta.Items)
}

// createHostileObjects creates n objects of each hostile kind, named from first on, and returns how many it created.
func createHostileObjects(t *testing.T, ns string, first, n int) int {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(4)
	kinds := testenv.HostileObjects(ns)
	for i := range n {
		for _, build := range kinds {
			g.Go(func() error { return env.Client.Create(t.Context(), build(fmt.Sprintf("hostile-%d", first+i))) })
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return n * len(kinds)
}

// heap is the bytes of live heap objects after a full collection.
func heap() uint64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	time.Sleep(100 * time.Millisecond) // let the informers' queues drain what they hand on
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
