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
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

type harness struct {
	c    config
	env  *testenv.Env
	cl   client.Client // no client-side rate limit: the harness must not be the bottleneck
	kube kubernetes.Interface
	// apiserverHTTP carries the admin credentials, for the apiserver's own pprof endpoint.
	apiserverHTTP *http.Client
	sim           *burnersim.Server
	hung          *burnersim.Server // -hung only: the API that never answers
	simURL        string
	dir           string
	kubeconfig    string
	sessions      cache.Cache
	progress      *progress
	mgr           *testenv.Process
	mgrMetrics    string
	pprof         string
	proxy         *testenv.Proxy // chaos mode only
	keepLogs      bool           // a failed chaos run leaves the manager's log for diagnosis
}

func newHarness(ctx context.Context, env *testenv.Env, c config) (*harness, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS = -1
	cl, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	h := &harness{c: c, env: env, cl: cl, kube: kube}
	if h.apiserverHTTP, err = rest.HTTPClientFor(cfg); err != nil {
		return nil, err
	}
	h.sim = burnersim.New(burnersim.WithKeys(c.apiKeys()...), burnersim.WithLatency(c.latency))
	h.limitUpstream()
	if h.simURL, err = h.sim.Start(); err != nil {
		return nil, err
	}
	if h.dir, err = os.MkdirTemp("", "burner-bench-"); err != nil {
		return nil, err
	}
	// In chaos mode the manager reaches the apiserver through a proxy that can cut the connection.
	mgrConfig := rest.CopyConfig(env.Config)
	if c.chaos > 0 {
		if h.proxy, err = testenv.NewProxy(env.Config.Host); err != nil {
			return nil, err
		}
		mgrConfig.Host = h.proxy.URL()
	}
	h.kubeconfig = filepath.Join(h.dir, "kubeconfig")
	if err := testenv.WriteKubeconfig(mgrConfig, h.kubeconfig); err != nil {
		return nil, err
	}
	// The harness watches sessions and token Secrets to see progress, as a dashboard would.
	// Reads never modify, so they skip the deep copy: polling 10,000 objects must not load the machine under test.
	h.sessions, err = cache.New(cfg, cache.Options{Scheme: env.Client.Scheme(), DefaultUnsafeDisableDeepCopy: new(true),
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: labelSelector()}}})
	if err != nil {
		return nil, err
	}
	if h.progress, err = followProgress(ctx, h.sessions); err != nil {
		return nil, err
	}
	go func() { _ = h.sessions.Start(ctx) }()
	h.sessions.WaitForCacheSync(ctx)
	return h, nil
}

func (h *harness) close() {
	h.stopManager()
	h.sim.Close()
	if h.hung != nil {
		h.hung.Close()
	}
	if h.proxy != nil {
		h.proxy.Close()
	}
	if h.keepLogs {
		fmt.Fprintf(os.Stderr, "the manager's log is kept in %s\n", h.dir)
		return
	}
	_ = os.RemoveAll(h.dir)
}

func apiKey(i int) string              { return fmt.Sprintf("ak_bench_%04d", i) }
func namespace(p string, i int) string { return fmt.Sprintf("%s-%04d", p, i) }

// forEach runs fn(i) for i in [0, n) on workers goroutines and returns the first error.
func forEach(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func (h *harness) ensureNamespaces(ctx context.Context, prefix string, count int) error {
	return forEach(count, 16, func(i int) error {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace(prefix, i)}}
		return client.IgnoreAlreadyExists(h.cl.Create(ctx, ns))
	})
}

func (h *harness) session(prefix string, i int) *burnerv1alpha1.BurnerSession {
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace(prefix, i/h.c.perNamespace), Name: fmt.Sprintf("s-%05d", i)},
		Spec:       burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: int32(h.c.ttl)},
	}
	h.c.keyReference(&bs.Spec)
	return bs
}

// writeFloor is the fastest this machine does the apiserver writes one issue needs (Secret create, status patch),
// with a bare client, no rate limit and no operator logic. It leaves its objects: it runs on a control plane of its
// own (see measureFloor).
func (h *harness) writeFloor(ctx context.Context) (time.Duration, error) {
	if err := h.ensureNamespaces(ctx, "floor", h.c.namespaces()); err != nil {
		return 0, err
	}
	sessions := make([]*burnerv1alpha1.BurnerSession, h.c.sessions)
	if err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		sessions[i] = h.session("floor", i)
		return h.cl.Create(ctx, sessions[i])
	}); err != nil {
		return 0, err
	}
	// The same objects the operator writes: a real token from the simulator, the owner reference, and a status with
	// every field and both conditions, so the floor's writes cost the apiserver what the operator's do.
	token, err := h.mintOne(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	issued := tokensecret.Token{Value: token, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		Scopes: []string{"wallet:read"}}
	start := time.Now()
	err = forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		bs := sessions[i]
		owner := metav1.NewControllerRef(bs, burnerv1alpha1.GroupVersion.WithKind("BurnerSession"))
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: bs.Name,
			OwnerReferences: []metav1.OwnerReference{*owner}}}
		t := issued
		t.SpecHash = tokensecret.SpecHash(bs.Spec)
		tokensecret.Write(s, bs.Spec.WalletAddress, t)
		if err := h.cl.Create(ctx, s); err != nil {
			return err
		}
		orig := bs.DeepCopy()
		at := func(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }
		bs.Status = burnerv1alpha1.BurnerSessionStatus{
			ObservedGeneration: bs.Generation, SecretName: s.Name, GrantedScopes: issued.Scopes,
			IssuedAt: at(now), ExpiresAt: at(issued.ExpiresAt), RefreshAt: at(now.Add(40 * time.Minute)),
		}
		meta.SetStatusCondition(&bs.Status.Conditions, metav1.Condition{Type: burnerv1alpha1.ConditionReady,
			Status: metav1.ConditionTrue, Reason: "TokenValid", ObservedGeneration: bs.Generation,
			Message: "token valid until " + issued.ExpiresAt.UTC().Format(time.RFC3339) + ", refresh at " +
				now.Add(40*time.Minute).UTC().Format(time.RFC3339)})
		meta.SetStatusCondition(&bs.Status.Conditions, metav1.Condition{Type: burnerv1alpha1.ConditionSynced,
			Status: metav1.ConditionTrue, Reason: "UpToDate", ObservedGeneration: bs.Generation,
			Message: "the token matches the spec"})
		return h.cl.Status().Patch(ctx, bs, client.MergeFrom(orig))
	})
	took := time.Since(start)
	fmt.Fprintf(os.Stderr, "floor: %.1fs\n", took.Seconds())
	return took, err
}

// mintOne gets one token from the simulator, for the floor's Secrets to be the size of real ones.
func (h *harness) mintOne(ctx context.Context) (string, error) {
	api, err := burnerapi.New(h.simURL)
	if err != nil {
		return "", err
	}
	sess, err := api.CreateSession(ctx, apiKey(0), burnerapi.Request{WalletAddress: wallet,
		Scopes: []string{"wallet:read"}, TTLSeconds: int32(h.c.ttl)})
	if err != nil {
		return "", err
	}
	return sess.Token, nil
}

func (h *harness) createSessions(ctx context.Context) error {
	if err := h.ensureNamespaces(ctx, "bench", h.c.namespaces()); err != nil {
		return err
	}
	if err := h.createKeySecrets(ctx); err != nil {
		return err
	}
	if err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		return h.cl.Create(ctx, h.session("bench", i))
	}); err != nil {
		return err
	}
	// A fresh apiserver builds a custom resource's watch cache at the first request for it, and answers watches with
	// 429 meanwhile: the manager's informer then backs off for a second or more before it syncs. On a running
	// cluster those caches are long built; one read of every resource the manager watches builds them here too.
	for _, list := range []client.ObjectList{&burnerv1alpha1.BurnerIssuerList{},
		&burnerv1alpha1.ClusterBurnerIssuerList{}, &burnerv1alpha1.BurnerSessionList{}} {
		if err := h.cl.List(ctx, list, client.Limit(1)); err != nil {
			return err
		}
	}
	return nil
}

// phase is what one measured step cost: count sessions issued or refreshed.
type phase struct {
	took                                              time.Duration
	count                                             int
	apiCalls, mints, throttled                        int // answered, answered with a token, answered 429
	objectWrites, eventWrites, allRequests, conflicts int
	secretWrites                                      int
	learnedRate                                       float64
	events                                            string // by reason (natural refreshes only)
}

// measure runs trigger and waits until all sessions are handled, counting API calls and apiserver writes.
// trigger starts a phase and returns how many sessions it has handled so far.
type trigger func(context.Context) (progress func() int, err error)

func (h *harness) measure(ctx context.Context, name string, begin trigger) (phase, error) {
	calls0 := h.sim.Calls()
	req0, err := h.apiserverRequests(ctx)
	if err != nil {
		return phase{}, err
	}
	start := time.Now()
	progress, err := begin(ctx)
	if err != nil {
		return phase{}, err
	}
	if err := h.poll(ctx, name, progress); err != nil {
		return phase{}, err
	}
	took := time.Since(start)
	time.Sleep(3 * time.Second) // let trailing status patches and events land before counting
	req1, err := h.apiserverRequests(ctx)
	if err != nil {
		return phase{}, err
	}
	d := req1.minus(req0)
	calls := h.sim.Calls()
	p := phase{took: took, count: h.c.sessions, apiCalls: calls.Total - calls0.Total, mints: calls.Mints - calls0.Mints,
		throttled:    calls.ByStatus[http.StatusTooManyRequests] - calls0.ByStatus[http.StatusTooManyRequests],
		objectWrites: d.writes("secrets", "") + d.writes("burnersessions", "status"),
		secretWrites: d.writes("secrets", ""), eventWrites: d.writes("events", ""), allRequests: d.total(),
		conflicts: d.conflicts(), learnedRate: h.learnedRate()}
	fmt.Fprintf(os.Stderr, "%s: %.1fs, %d API calls (%d answered 429), apiserver requests: %s\n", name,
		took.Seconds(), p.apiCalls, p.throttled, d)
	return p, nil
}

// poll waits until progress reaches the number of sessions, printing it every 5 s so a run shows its rate over
// time (start-up, steady state, tail).
func (h *harness) poll(ctx context.Context, name string, progress func() int) error {
	timeout := 10*time.Minute + 2*h.c.ideal() // an upstream limit makes a slow run legitimate
	start := time.Now()
	next := start.Add(5 * time.Second)
	for n := progress(); n < h.c.sessions; n = progress() {
		if now := time.Now(); now.After(next) {
			fmt.Fprintf(os.Stderr, "%s: %3.0fs %d/%d\n", name, now.Sub(start).Seconds(), n, h.c.sessions)
			next = next.Add(5 * time.Second)
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("%s: %d/%d after %s", name, n, h.c.sessions, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (h *harness) startManager(ctx context.Context) (func() int, error) {
	metricsAddr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	h.mgrMetrics = "http://" + metricsAddr + "/metrics"
	pprofAddr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig", h.kubeconfig, "--burner-api-url", h.simURL,
		"--cluster-resource-namespace", benchPlatformNS,
		"--health-probe-bind-address", "0", "--metrics-bind-address", metricsAddr,
		"--metrics-secure=false", "--pprof-bind-address", pprofAddr,
		// The refresh phase follows the issue phase at once: it measures a herd of mints, not the per-session
		// minimum interval, which would defer every token to a minute after its first.
		"--force-refresh-min-interval=0"},
		strings.Fields(h.c.managerArgs)...)
	var env []string
	if h.c.goMemLimit != "" {
		env = append(env, "GOMEMLIMIT="+h.c.goMemLimit)
	}
	if h.c.goGC != "" {
		env = append(env, "GOGC="+h.c.goGC)
	}
	if h.mgr, err = testenv.StartProcess(filepath.Join(h.dir, "manager.log"), env, h.c.manager, args...); err != nil {
		return nil, err
	}
	h.pprof = "http://" + pprofAddr
	if h.c.cpuProfile != "" {
		go saveProfile(http.DefaultClient, h.pprof+"/debug/pprof/profile?seconds=20", h.c.cpuProfile)
		h.c.cpuProfile = "" // the first start only: the issue phase
	}
	if h.c.apiserverProfile != "" {
		go saveProfile(h.apiserverHTTP, strings.TrimSuffix(h.env.Config.Host, "/")+"/debug/pprof/profile?seconds=20",
			h.c.apiserverProfile)
		h.c.apiserverProfile = ""
	}
	return h.progress.readyCount, nil
}

func (h *harness) stopManager() {
	if h.mgr == nil {
		return
	}
	h.mgr.Stop(30 * time.Second)
	h.mgr = nil
}

// templateLabel is the label the template phase puts on every token Secret through its session's secretTemplate.
const templateLabel = "bench.example/template"

// templateAll sets a secretTemplate with a new label on every session; done when every token Secret carries it.
func (h *harness) templateAll(ctx context.Context) (func() int, error) {
	const value = "v1"
	patch := []byte(`{"spec":{"secretTemplate":{"labels":{"` + templateLabel + `":"` + value + `"}}}}`)
	err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		return h.cl.Patch(ctx, h.session("bench", i), client.RawPatch("application/merge-patch+json", patch))
	})
	return func() int { return h.progress.shapedCount(value) }, err
}

// forceRefreshAll sets a new force-refresh value on every session; done when every token Secret answered it and
// every session is Ready.
func (h *harness) forceRefreshAll(ctx context.Context) (func() int, error) {
	const value = "bench"
	err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		bs := h.session("bench", i)
		patch := []byte(`{"metadata":{"annotations":{"` + burnerv1alpha1.ForceRefreshAnnotation + `":"` + value + `"}}}`)
		return h.cl.Patch(ctx, bs, client.RawPatch("application/merge-patch+json", patch))
	})
	return func() int { return min(h.progress.answeredCount(value), h.progress.readyCount()) }, err
}

type restartResult struct {
	took             time.Duration
	apiCalls, writes int
}

// restart stops the manager and starts a new one over valid tokens: it must reach steady state (every session
// reconciled, queue empty) without calling the API.
func (h *harness) restart(ctx context.Context) (restartResult, error) {
	var r restartResult
	h.stopManager()
	calls0 := h.sim.Calls().Total
	req0, err := h.apiserverRequests(ctx)
	if err != nil {
		return r, err
	}
	start := time.Now()
	if _, err := h.startManager(ctx); err != nil {
		return r, err
	}
	if err := h.poll(ctx, "restart", func() int {
		reconciled, depth := h.managerProgress()
		if depth > 0 {
			return min(int(reconciled), h.c.sessions-1)
		}
		return int(reconciled)
	}); err != nil {
		return r, err
	}
	r.took = time.Since(start)
	time.Sleep(3 * time.Second)
	req1, err := h.apiserverRequests(ctx)
	if err != nil {
		return r, err
	}
	d := req1.minus(req0)
	r.apiCalls = h.sim.Calls().Total - calls0
	r.writes = d.writes("secrets", "") + d.writes("burnersessions", "status") + d.writes("events", "")
	return r, nil
}

// managerProgress reads the manager's own metrics: reconciles done and work queue depth.
func (h *harness) managerProgress() (reconciled, depth float64) {
	families, err := scrape(h.mgrMetrics)
	if err != nil {
		return 0, 1
	}
	for _, m := range families["controller_runtime_reconcile_total"].GetMetric() {
		if label(m.GetLabel(), "controller") == "burnersession" {
			reconciled += m.GetCounter().GetValue()
		}
	}
	for _, m := range families["workqueue_depth"].GetMetric() {
		if label(m.GetLabel(), "name") == "burnersession" {
			depth += m.GetGauge().GetValue()
		}
	}
	return reconciled, depth
}

type memoryResult struct {
	count         int
	before, after uint64
	// heapBefore and heapAfter are the manager's live heap after a collection, after the first warmUp objects and
	// after all (hostile objects only).
	heapBefore, heapAfter uint64
	warmUp                int
}

// unrelatedSecrets adds many large Secrets the operator has nothing to do with: its RSS must barely move.
func (h *harness) unrelatedSecrets(ctx context.Context) (*memoryResult, error) {
	time.Sleep(5 * time.Second)
	m := &memoryResult{count: h.c.unrelated, before: processRSS(h.mgr.Pid()).now}
	const perNamespace = 500
	if err := h.ensureNamespaces(ctx, "unrelated", (h.c.unrelated+perNamespace-1)/perNamespace); err != nil {
		return nil, err
	}
	payload := bytes.Repeat([]byte("x"), h.c.unrelatedKB<<10)
	if err := forEach(h.c.unrelated, 16, func(i int) error {
		return h.cl.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace("unrelated", i/perNamespace), Name: fmt.Sprintf("u-%05d", i)},
			Data:       map[string][]byte{"blob": payload},
		})
	}); err != nil {
		return nil, err
	}
	time.Sleep(10 * time.Second)
	m.after = processRSS(h.mgr.Pid()).now
	return m, nil
}

// hostileObjects creates objects near the apiserver's size limits, of every kind users control that the manager
// watches: its live heap must grow by a small constant per object. It is measured over all but the first tenth,
// which sizes the watches' decoding buffers once (to the largest object, not per object).
func (h *harness) hostileObjects(ctx context.Context) (*memoryResult, error) {
	time.Sleep(5 * time.Second)
	m := &memoryResult{count: h.c.hostile, before: processRSS(h.mgr.Pid()).now, warmUp: max(h.c.hostile/10, 4)}
	const perNamespace = 500
	if err := h.ensureNamespaces(ctx, "hostile", (h.c.hostile+perNamespace-1)/perNamespace); err != nil {
		return nil, err
	}
	kinds := make([][]func(string) client.Object, (h.c.hostile+perNamespace-1)/perNamespace)
	for i := range kinds {
		kinds[i] = testenv.HostileObjects(namespace("hostile", i))
	}
	create := func(from, to int) error {
		return forEach(to-from, 4, func(i int) error {
			i += from
			build := kinds[i/perNamespace][i%len(kinds[0])]
			return h.cl.Create(ctx, build(fmt.Sprintf("h-%05d", i)))
		})
	}
	if err := create(0, m.warmUp); err != nil {
		return nil, err
	}
	time.Sleep(5 * time.Second)
	m.heapBefore = h.liveHeap(ctx)
	if err := create(m.warmUp, m.count); err != nil {
		return nil, err
	}
	time.Sleep(10 * time.Second)
	m.after, m.heapAfter = processRSS(h.mgr.Pid()).now, h.liveHeap(ctx)
	return m, nil
}

// liveHeap is the manager's live heap after a collection (HeapAlloc, from its pprof endpoint, which collects
// first), or 0 when it cannot be read. Unlike the RSS it leaves out the garbage of decoding large objects, which
// the runtime returns to the system only slowly.
func (h *harness) liveHeap(ctx context.Context) uint64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.pprof+"/debug/pprof/heap?gc=1&debug=1", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	_, after, _ := strings.Cut(string(body), "\n# HeapAlloc = ")
	n, _ := strconv.ParseUint(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), 10, 64)
	return n
}

type rss struct{ now, peak uint64 }

// processRSS reads VmRSS and VmHWM (peak) of pid.
func processRSS(pid int) rss {
	u, _ := testenv.ProcessUsage(pid)
	return rss{now: u.RSS, peak: u.PeakRSS}
}

// saveProfile fetches a pprof profile, retrying while the manager starts.
func saveProfile(c *http.Client, url, path string) {
	for range 50 {
		resp, err := c.Get(url) //nolint:gosec // a pprof endpoint on loopback
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		defer func() { _ = resp.Body.Close() }()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
		}
		return
	}
}
