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
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

type harness struct {
	c          config
	env        *testenv.Env
	cl         client.Client // no client-side rate limit: the harness must not be the bottleneck
	kube       kubernetes.Interface
	sim        *burnersim.Server
	simURL     string
	dir        string
	kubeconfig string
	sessions   cache.Cache
	mgr        *testenv.Process
	mgrMetrics string
	pprof      string
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
	keys := make([]string, 0, c.sessions/c.perNamespace+1)
	for i := range (c.sessions + c.perNamespace - 1) / c.perNamespace {
		keys = append(keys, apiKey(i))
	}
	h.sim = burnersim.New(burnersim.WithKeys(keys...), burnersim.WithLatency(c.latency))
	if h.simURL, err = h.sim.Start(); err != nil {
		return nil, err
	}
	if h.dir, err = os.MkdirTemp("", "burner-bench-"); err != nil {
		return nil, err
	}
	data, err := testenv.Kubeconfig(env.Config)
	if err != nil {
		return nil, err
	}
	h.kubeconfig = filepath.Join(h.dir, "kubeconfig")
	if err := os.WriteFile(h.kubeconfig, data, 0o600); err != nil {
		return nil, err
	}
	// The harness watches sessions and token Secrets to see progress, as a dashboard would.
	h.sessions, err = cache.New(cfg, cache.Options{Scheme: env.Client.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labelSelector()},
	}})
	if err != nil {
		return nil, err
	}
	go func() { _ = h.sessions.Start(ctx) }()
	for _, o := range []client.Object{&burnerv1alpha1.BurnerSession{}, &corev1.Secret{}} {
		if _, err := h.sessions.GetInformer(ctx, o); err != nil {
			return nil, err
		}
	}
	h.sessions.WaitForCacheSync(ctx)
	return h, nil
}

func (h *harness) close() {
	h.stopManager()
	h.sim.Close()
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
	return &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace(prefix, i/h.c.perNamespace), Name: fmt.Sprintf("s-%05d", i)},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress: wallet, TTLSeconds: int32(h.c.ttl),
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "burner-api-key"},
		},
	}
}

func (h *harness) namespaces() int { return (h.c.sessions + h.c.perNamespace - 1) / h.c.perNamespace }

// writeFloor is the fastest this machine does the apiserver writes one issue needs (Secret create, status patch,
// event), with a bare client, no rate limit and no operator logic.
func (h *harness) writeFloor(ctx context.Context) (time.Duration, error) {
	if err := h.ensureNamespaces(ctx, "floor", h.namespaces()); err != nil {
		return 0, err
	}
	sessions := make([]*burnerv1alpha1.BurnerSession, h.c.sessions)
	if err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		sessions[i] = h.session("floor", i)
		return h.cl.Create(ctx, sessions[i])
	}); err != nil {
		return 0, err
	}
	now := time.Now()
	start := time.Now()
	err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		bs := sessions[i]
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: bs.Name}}
		tokensecret.Write(s, bs, tokensecret.Issued{Token: strings.Repeat("t", 400), IssuedAt: now,
			ExpiresAt: now.Add(time.Hour), GrantedScopes: []string{"wallet:read"}})
		if err := h.cl.Create(ctx, s); err != nil {
			return err
		}
		orig := bs.DeepCopy()
		bs.Status.SecretName = s.Name
		bs.Status.ExpiresAt = &metav1.Time{Time: now.Add(time.Hour)}
		meta.SetStatusCondition(&bs.Status.Conditions, metav1.Condition{
			Type: "Ready", Status: "True", Reason: "TokenValid", Message: "m"})
		if err := h.cl.Status().Patch(ctx, bs, client.MergeFrom(orig)); err != nil {
			return err
		}
		_, err := h.kube.EventsV1().Events(bs.Namespace).Create(ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: bs.Name + "-"}, EventTime: metav1.NewMicroTime(now),
			Regarding: corev1.ObjectReference{Kind: "BurnerSession", Namespace: bs.Namespace, Name: bs.Name},
			Reason:    "Issued", Action: "Issue", Note: "floor", Type: corev1.EventTypeNormal,
			ReportingController: "bench", ReportingInstance: "bench",
		}, metav1.CreateOptions{})
		return err
	})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	// Remove the floor's sessions and Secrets so the operator does not see them.
	return took, forEach(h.namespaces(), 8, func(i int) error {
		ns := client.InNamespace(namespace("floor", i))
		return errorsJoin(h.cl.DeleteAllOf(ctx, &burnerv1alpha1.BurnerSession{}, ns),
			h.cl.DeleteAllOf(ctx, &corev1.Secret{}, ns))
	})
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (h *harness) createSessions(ctx context.Context) error {
	if err := h.ensureNamespaces(ctx, "bench", h.namespaces()); err != nil {
		return err
	}
	if err := forEach(h.namespaces(), 8, func(i int) error {
		return h.cl.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace("bench", i), Name: "burner-api-key"},
			Data:       map[string][]byte{"apiKey": []byte(apiKey(i))},
		})
	}); err != nil {
		return err
	}
	return forEach(h.c.sessions, h.c.concurrency, func(i int) error { return h.cl.Create(ctx, h.session("bench", i)) })
}

// phase is what one measured step cost.
type phase struct {
	took                                             time.Duration
	apiCalls, objectWrites, eventWrites, allRequests int
}

// measure runs trigger and waits until done reports all sessions handled, counting API calls and apiserver writes.
// trigger starts a phase and returns the condition that says it is done.
type trigger func(context.Context) (done func() bool, err error)

func (h *harness) measure(ctx context.Context, name string, begin trigger) (phase, error) {
	calls0 := h.sim.Calls().Total
	req0, err := h.apiserverRequests(ctx)
	if err != nil {
		return phase{}, err
	}
	start := time.Now()
	done, err := begin(ctx)
	if err != nil {
		return phase{}, err
	}
	if err := poll(ctx, 10*time.Minute, done); err != nil {
		return phase{}, fmt.Errorf("%s: %w", name, err)
	}
	took := time.Since(start)
	time.Sleep(3 * time.Second) // let trailing status patches and events land before counting
	req1, err := h.apiserverRequests(ctx)
	if err != nil {
		return phase{}, err
	}
	d := req1.minus(req0)
	p := phase{took: took, apiCalls: h.sim.Calls().Total - calls0,
		objectWrites: d.writes("secrets", "") + d.writes("burnersessions", "status"),
		eventWrites:  d.writes("events", ""), allRequests: d.total()}
	fmt.Fprintf(os.Stderr, "%s: %.1fs, %d API calls, apiserver requests: %s\n", name, took.Seconds(), p.apiCalls, d)
	return p, nil
}

func poll(ctx context.Context, timeout time.Duration, done func() bool) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (h *harness) allReady(ctx context.Context) bool {
	var list burnerv1alpha1.BurnerSessionList
	if err := h.sessions.List(ctx, &list); err != nil {
		return false
	}
	ready := 0
	for i := range list.Items {
		if c := meta.FindStatusCondition(list.Items[i].Status.Conditions, "Ready"); c != nil && c.Status == "True" {
			ready++
		}
	}
	return ready >= h.c.sessions
}

func (h *harness) startManager(ctx context.Context) (func() bool, error) {
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
		"--health-probe-bind-address", "0", "--metrics-bind-address", metricsAddr,
		"--metrics-secure=false", "--pprof-bind-address", pprofAddr},
		strings.Fields(h.c.managerArgs)...)
	var env []string
	if h.c.goMemLimit != "" {
		env = append(env, "GOMEMLIMIT="+h.c.goMemLimit)
	}
	if h.mgr, err = testenv.StartProcess(filepath.Join(h.dir, "manager.log"), env, h.c.manager, args...); err != nil {
		return nil, err
	}
	h.pprof = "http://" + pprofAddr
	if h.c.cpuProfile != "" {
		go saveProfile(h.pprof+"/debug/pprof/profile?seconds=20", h.c.cpuProfile)
		h.c.cpuProfile = "" // the first start only: the issue phase
	}
	return func() bool { return h.allReady(ctx) }, nil
}

func (h *harness) stopManager() {
	if h.mgr == nil {
		return
	}
	h.mgr.Stop(30 * time.Second)
	h.mgr = nil
}

// forceRefreshAll sets a new force-refresh value on every session; done when every token Secret answered it.
func (h *harness) forceRefreshAll(ctx context.Context) (func() bool, error) {
	const value = "bench"
	err := forEach(h.c.sessions, h.c.concurrency, func(i int) error {
		bs := h.session("bench", i)
		patch := []byte(`{"metadata":{"annotations":{"` + burnerv1alpha1.ForceRefreshAnnotation + `":"` + value + `"}}}`)
		return h.cl.Patch(ctx, bs, client.RawPatch("application/merge-patch+json", patch))
	})
	return func() bool {
		var list corev1.SecretList
		if err := h.sessions.List(ctx, &list); err != nil {
			return false
		}
		n := 0
		for i := range list.Items {
			if list.Items[i].Annotations[tokensecret.ForceRefreshAnnotation] == value {
				n++
			}
		}
		return n >= h.c.sessions && h.allReady(ctx)
	}, err
}

type restartResult struct {
	before           rss
	took             time.Duration
	apiCalls, writes int
}

// restart stops the manager and starts a new one over valid tokens: it must reach steady state (every session
// reconciled, queue empty) without calling the API.
func (h *harness) restart(ctx context.Context) (restartResult, error) {
	var r restartResult
	r.before = processRSS(h.mgr.Pid())
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
	if err := poll(ctx, 10*time.Minute, func() bool {
		reconciled, depth := h.managerProgress()
		return reconciled >= float64(h.c.sessions) && depth == 0
	}); err != nil {
		return r, fmt.Errorf("restart: %w", err)
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

type rss struct{ now, peak uint64 }

// processRSS reads VmRSS and VmHWM (peak) of pid.
func processRSS(pid int) rss {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss{}
	}
	var r rss
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			r.now = kb << 10
		case "VmHWM:":
			r.peak = kb << 10
		}
	}
	return r
}

// saveProfile fetches a pprof profile, retrying while the manager starts.
func saveProfile(url, path string) {
	for range 50 {
		resp, err := http.Get(url) //nolint:gosec // the manager's pprof endpoint on loopback
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
