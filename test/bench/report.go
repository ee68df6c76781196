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
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

type report struct {
	config
	floor                   time.Duration
	issue, refresh, natural phase
	template                phase
	rss                     rss
	restart                 restartResult
	unrelated, hostile      *memoryResult
}

// check fails the run, after its report, when the operator broke a per-session invariant: so the smoke run in CI
// catches a regression of the call or write counts, not just a crash. Only exact counts are checked; times vary
// too much from run to run on a shared machine to gate on.
func (r report) check() error {
	var broken []string
	want := func(ok bool, format string, args ...any) {
		if !ok {
			broken = append(broken, fmt.Sprintf(format, args...))
		}
	}
	costs := func(name string, p phase, events bool, once int) {
		want(p.mints == p.count, "%s: %d successful API calls for %d", name, p.mints, p.count)
		// Unlimited, every call answered is a mint; under a limit the 429s are the price of learning it.
		want(r.upstreamRate > 0 || p.apiCalls == p.count, "%s: %d API calls for %d", name, p.apiCalls, p.count)
		// A 429 may cost a status write (the failure and its backoff are recorded), no more.
		want(p.objectWrites <= 2*p.count+p.throttled+once, "%s: %d writes for %d (%d answered 429)", name,
			p.objectWrites, p.count, p.throttled)
		want(!events || p.eventWrites == 0, "%s: %d event writes for %d", name, p.eventWrites, p.count)
	}
	// The issue phase starts the manager of a new install, which creates its key_id Secret once.
	costs("issue", r.issue, false, 1)
	if r.phases["refresh"] {
		costs("refresh", r.refresh, false, 0)
	}
	if r.phases["natural"] {
		costs("natural refresh", r.natural, true, 0)
	}
	if r.phases["template"] {
		// A template change is metadata only: no call, one write per Secret (plus the status of the new generation).
		p := r.template
		want(p.apiCalls == 0 && p.secretWrites == p.count, "template: %d API calls, %d Secret writes for %d",
			p.apiCalls, p.secretWrites, p.count)
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

func (r report) print(w io.Writer) {
	out := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }
	row := func(k, format string, args ...any) { out("| %s | %s |\n", k, fmt.Sprintf(format, args...)) }
	out("## N = %d sessions, %d namespaces, %s\n\n", r.sessions, r.namespaces(), r.setup())
	out("Machine: %s\n\n", machine())
	out("| measure | value |\n|---|---|\n")
	if r.floor > 0 {
		row("write floor (bare client: Secret create + status patch per session)", "%.1f s", r.floor.Seconds())
	}
	row("all Ready after manager start", "%.1f s%s", r.issue.took.Seconds(), r.ratios(r.issue.took))
	r.costRows(row, "issue", r.issue)
	if r.phases["refresh"] {
		row("force-refresh of all: done after", "%.1f s", r.refresh.took.Seconds())
		r.costRows(row, "refresh", r.refresh)
	}
	if r.phases["template"] {
		p, per := r.template, func(n int) float64 { return float64(n) / float64(max(r.template.count, 1)) }
		row("secretTemplate label added on all: done after", "%.1f s", p.took.Seconds())
		row("API calls per template change", "%d in all", p.apiCalls)
		row("apiserver writes per template change: Secret, + BurnerSession status", "%.2f, + %.2f (+ %.2f events)",
			per(p.secretWrites), per(p.objectWrites-p.secretWrites), per(p.eventWrites))
		row("apiserver requests per template change, all verbs", "%.2f (%d answered 409 Conflict)",
			per(p.allRequests), p.conflicts)
	}
	if r.phases["natural"] {
		row("natural refreshes (no force-refresh): every token replaced after", "%.1f s, %d refreshes",
			r.natural.took.Seconds(), r.natural.count)
		r.costRows(row, "natural refresh", r.natural)
		row("events during the natural refreshes, by reason", "%s", orNone(r.natural.events))
	}
	row("manager RSS: peak / steady", "%s / %s", mib(r.rss.peak), mib(r.rss.now))
	if r.phases["restart"] {
		row("restart: time to steady state", "%.1f s", r.restart.took.Seconds())
		row("restart: API calls", "%d", r.restart.apiCalls)
		row("restart: apiserver writes", "%d", r.restart.writes)
	}
	if m := r.unrelated; m != nil {
		row(fmt.Sprintf("RSS with %d unrelated %d KiB Secrets", m.count, r.unrelatedKB), "%s → %s (%+.1f MiB)",
			mib(m.before), mib(m.after), float64(int64(m.after)-int64(m.before))/(1<<20))
	}
	if m := r.hostile; m != nil {
		grew := int64(m.after) - int64(m.before)
		row(fmt.Sprintf("RSS with %d objects near the size limits", m.count), "%s → %s (%+.1f MiB, %+.1f KiB per object)",
			mib(m.before), mib(m.after), float64(grew)/(1<<20), float64(grew)/float64(m.count)/(1<<10))
		grew = int64(m.heapAfter) - int64(m.heapBefore)
		row(fmt.Sprintf("live heap from %d to %d such objects", m.warmUp, m.count),
			"%.1f MiB → %.1f MiB (%+.2f KiB per object)", float64(m.heapBefore)/(1<<20), float64(m.heapAfter)/(1<<20),
			float64(grew)/float64(m.count-m.warmUp)/(1<<10))
	}
	out("\n")
}

// costRows are what each issue or refresh cost, per session.
func (r report) costRows(row func(k, format string, args ...any), name string, p phase) {
	per := func(count int) float64 { return float64(count) / float64(max(p.count, 1)) }
	row("API calls per "+name, "%.2f (%d answered 429: %.1f%% of calls)", per(p.apiCalls), p.throttled,
		100*float64(p.throttled)/float64(max(p.apiCalls, 1)))
	row("successful API calls per "+name, "%.2f", per(p.mints))
	row("apiserver writes per "+name+" (Secret + BurnerSession status)", "%.2f (+ %.2f events)",
		per(p.objectWrites), per(p.eventWrites))
	row("apiserver requests per "+name+", all verbs", "%.2f (%d answered 409 Conflict)", per(p.allRequests),
		p.conflicts)
	if r.upstreamRate > 0 {
		row("rate the manager allows per key after "+name+" (burner_api_key_rate_limit, highest key)", "%.1f/s",
			p.learnedRate)
	}
}

// ratios compares a time to all Ready with the floor and with the ideal the upstream limit allows, when measured.
func (r report) ratios(took time.Duration) string {
	var parts []string
	if r.floor > 0 {
		parts = append(parts, fmt.Sprintf("%.2f× the floor", took.Seconds()/r.floor.Seconds()))
	}
	if ideal := r.ideal(); ideal > 0 {
		parts = append(parts, fmt.Sprintf("%.2f× the ideal %d sessions per key ÷ %g/s = %.1f s",
			took.Seconds()/ideal.Seconds(), r.sessionsPerKey(), r.upstreamRate, ideal.Seconds()))
	}
	if parts == nil {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// setup says how the sessions use keys and what the upstream allows.
func (c config) setup() string {
	limit := "no upstream limit"
	if c.upstreamRate > 0 {
		limit = fmt.Sprintf("upstream limit %g calls/s per key (burst %d)", c.upstreamRate, c.bucketBurst())
	}
	return fmt.Sprintf("keys %s, %s, API latency %s, ttl %d s, manager GOMEMLIMIT %s, GOGC %s", c.keys, limit,
		c.latency, c.ttl, orNone(c.goMemLimit), orNone(c.goGC))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func machine() string {
	return fmt.Sprintf("%d cores, %s; %s, %s", runtime.NumCPU(), memTotal(), runtime.Version(),
		time.Now().UTC().Format("2006-01-02"))
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
