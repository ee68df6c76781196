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

// Command bench measures burner-operator at scale on envtest and the in-process simulator (50 ms of API latency):
// time until N sessions are Ready against the write floor of this machine, API calls and apiserver writes per
// issue and per refresh, the manager's RSS, the restart (time to steady state, API calls made), and the RSS cost
// of many unrelated large Secrets. It prints a Markdown report. Run it through `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/burner-operator/burner-operator/internal/testenv"
)

type config struct {
	sessions, perNamespace, unrelated, unrelatedKB, concurrency int
	latency                                                     time.Duration
	manager                                                     string
	managerArgs                                                 string
	cpuProfile, heapProfile, apiserverProfile, goMemLimit       string
	ttl                                                         int
	soak                                                        time.Duration
	phases                                                      map[string]bool
}

func main() {
	var c config
	flag.IntVar(&c.sessions, "sessions", 1000, "number of BurnerSessions")
	flag.IntVar(&c.perNamespace, "per-namespace", 100, "sessions per namespace (each namespace has its own API key)")
	flag.IntVar(&c.unrelated, "unrelated-secrets", 0, "unrelated Secrets created in other namespaces for the memory check")
	flag.IntVar(&c.unrelatedKB, "unrelated-kb", 100, "size of each unrelated Secret, in KiB")
	flag.IntVar(&c.concurrency, "floor-concurrency", 128,
		"parallel writers of the write-floor baseline (the manager's default concurrency)")
	flag.IntVar(&c.ttl, "ttl", 3600, "ttlSeconds of every session")
	flag.DurationVar(&c.soak, "soak", 0, "instead of the phases, keep the sessions running this long and sample every "+
		"token Secret every 500 ms for expired tokens (use with -ttl 60)")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "simulated Burner API latency")
	flag.StringVar(&c.manager, "manager", "bin/manager", "manager binary")
	flag.StringVar(&c.managerArgs, "manager-args", "", "extra manager flags, space-separated")
	flag.StringVar(&c.goMemLimit, "gomemlimit", "100MiB", "GOMEMLIMIT of the manager, as in the manifests (empty: unset)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the manager's first 20 s to this file")
	flag.StringVar(&c.apiserverProfile, "apiserver-cpuprofile", "",
		"write a CPU profile of the kube-apiserver during the manager's first 20 s to this file")
	flag.StringVar(&c.heapProfile, "heapprofile", "", "write a heap profile of the manager, once all sessions are Ready")
	phases := flag.String("phases", "floor,issue,refresh,restart", "phases to run, comma-separated (issue always runs)")
	flag.Parse()
	c.phases = map[string]bool{}
	for p := range strings.SplitSeq(*phases, ",") {
		c.phases[p] = true
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	// Ctrl-C ends the run through ctx, so the deferred clean-up still stops the manager (its own process group).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctrllog.SetLogger(logr.Discard()) // the harness's own caches and clients are not what is measured
	r := report{config: c}
	if c.phases["floor"] && c.soak == 0 {
		var err error
		if r.floor, err = measureFloor(ctx, c); err != nil {
			return fmt.Errorf("write floor: %w", err)
		}
	}
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	h, err := newHarness(ctx, env, c)
	if err != nil {
		return err
	}
	defer h.close()

	if c.soak > 0 {
		return h.soak(ctx, os.Stdout)
	}
	if err := h.createSessions(ctx); err != nil {
		return err
	}
	if r.issue, err = h.measure(ctx, "issue", h.startManager); err != nil {
		return err
	}
	if c.heapProfile != "" {
		saveProfile(http.DefaultClient, h.pprof+"/debug/pprof/heap?gc=1", c.heapProfile)           // live objects only
		saveProfile(http.DefaultClient, h.pprof+"/debug/pprof/heap?debug=1", c.heapProfile+".txt") // MemStats
	}
	if c.phases["refresh"] {
		if r.refresh, err = h.measure(ctx, "refresh", h.forceRefreshAll); err != nil {
			return err
		}
	}
	r.rss = processRSS(h.mgr.Pid())
	if c.phases["restart"] {
		if r.restart, err = h.restart(ctx); err != nil {
			return err
		}
	}
	if c.unrelated > 0 {
		if r.unrelated, err = h.unrelatedSecrets(ctx); err != nil {
			return err
		}
	}
	r.print(os.Stdout)
	return r.check()
}

// check fails the run, after its report, when the operator broke a per-session invariant: so the smoke run in CI
// catches a regression of the call or write counts, not just a crash.
func (r report) check() error {
	var broken []string
	want := func(ok bool, format string, args ...any) {
		if !ok {
			broken = append(broken, fmt.Sprintf(format, args...))
		}
	}
	want(r.issue.apiCalls == r.sessions, "issue: %d API calls for %d sessions", r.issue.apiCalls, r.sessions)
	want(r.issue.objectWrites <= 2*r.sessions, "issue: %d writes for %d sessions", r.issue.objectWrites, r.sessions)
	if r.phases["refresh"] {
		want(r.refresh.apiCalls == r.sessions, "refresh: %d API calls for %d sessions", r.refresh.apiCalls, r.sessions)
		want(r.refresh.objectWrites <= 2*r.sessions, "refresh: %d writes for %d sessions", r.refresh.objectWrites,
			r.sessions)
	}
	if r.phases["restart"] {
		want(r.restart.apiCalls == 0 && r.restart.writes == 0, "restart: %d API calls, %d writes",
			r.restart.apiCalls, r.restart.writes)
	}
	if len(broken) > 0 {
		return fmt.Errorf("invariants broken: %s", strings.Join(broken, "; "))
	}
	return nil
}

// measureFloor runs the write floor on a fresh control plane of its own, as the operator's phases then get one:
// neither inherits the other's etcd history and apiserver caches.
func measureFloor(ctx context.Context, c config) (time.Duration, error) {
	env, err := testenv.Start()
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	h, err := newHarness(ctx, env, c)
	if err != nil {
		return 0, err
	}
	defer h.close()
	return h.writeFloor(ctx)
}

type report struct {
	config
	floor          time.Duration
	issue, refresh phase
	rss            rss
	restart        restartResult
	unrelated      *memoryResult
}

func (r report) print(w io.Writer) {
	n := float64(r.sessions)
	out := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }
	row := func(k, format string, args ...any) { out("| %s | %s |\n", k, fmt.Sprintf(format, args...)) }
	perSession := func(count int) float64 { return float64(count) / n }
	out("## N = %d sessions (%d namespaces, one API key each), API latency %s\n\n", r.sessions,
		(r.sessions+r.perNamespace-1)/r.perNamespace, r.latency)
	out("Machine: %d cores, %s; %s, %s\n\n", runtime.NumCPU(), memTotal(), runtime.Version(),
		time.Now().UTC().Format("2006-01-02"))
	out("| measure | value |\n|---|---|\n")
	row("write floor (bare client: Secret create + status patch per session)", "%.1f s", r.floor.Seconds())
	row("all Ready after manager start", "%.1f s (%.2f× the floor)", r.issue.took.Seconds(),
		r.issue.took.Seconds()/r.floor.Seconds())
	row("API calls per issue", "%.2f", perSession(r.issue.apiCalls))
	row("apiserver writes per issue (Secret + BurnerSession status)", "%.2f (+ %.2f events)",
		perSession(r.issue.objectWrites), perSession(r.issue.eventWrites))
	row("apiserver requests per issue, all verbs", "%.2f", perSession(r.issue.allRequests))
	row("force-refresh of all: done after", "%.1f s", r.refresh.took.Seconds())
	row("API calls per refresh", "%.2f", perSession(r.refresh.apiCalls))
	row("apiserver writes per refresh (Secret + status)", "%.2f (+ %.2f events)",
		perSession(r.refresh.objectWrites), perSession(r.refresh.eventWrites))
	row("manager RSS: peak / steady", "%s / %s", mib(r.rss.peak), mib(r.rss.now))
	row("restart: time to steady state", "%.1f s", r.restart.took.Seconds())
	row("restart: API calls", "%d", r.restart.apiCalls)
	row("restart: apiserver writes", "%d", r.restart.writes)
	if m := r.unrelated; m != nil {
		row(fmt.Sprintf("RSS with %d unrelated %d KiB Secrets", m.count, r.unrelatedKB), "%s → %s (%+.1f MiB)",
			mib(m.before), mib(m.after), float64(int64(m.after)-int64(m.before))/(1<<20))
	}
	out("\n")
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown memory"
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.Join(strings.Fields(line)[1:], " ") + " memory"
}
