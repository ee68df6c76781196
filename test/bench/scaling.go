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
	"errors"
	"fmt"
	"io"
)

// scalingCurve runs the floor and the issue for each N, each on fresh control planes, and prints one table row per
// N as it completes: time, requests, writes and RSS per session must stay flat as N grows. The marginal RSS (per
// session added since the previous N) shows growth that the average, diluted by the process's fixed cost, hides.
func scalingCurve(ctx context.Context, c config, w io.Writer) error {
	out := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }
	out("## Scaling curve: %d sessions per namespace, %s\n\nMachine: %s\n\n", c.perNamespace, c.setup(), machine())
	out("| N | all Ready | write floor | ratio | apiserver requests / session | writes / session | " +
		"peak RSS | RSS / session | marginal RSS / added session |\n|---|---|---|---|---|---|---|---|---|\n")
	var (
		prev   report
		broken error
	)
	for _, n := range c.scaling {
		cn := c
		cn.sessions = n
		cn.phases = map[string]bool{"floor": true, "issue": true}
		cn.scaling = nil
		r, err := runPhases(ctx, cn)
		if err != nil {
			return errors.Join(broken, fmt.Errorf("scaling, %d sessions: %w", n, err))
		}
		marginal := "—"
		if prev.sessions > 0 {
			marginal = kib(float64(int64(r.rss.peak)-int64(prev.rss.peak)) / float64(n-prev.sessions))
		}
		per := func(count int) float64 { return float64(count) / float64(n) }
		out("| %d | %.1f s | %.1f s | %.2f× | %.2f | %.2f | %s | %s | %s |\n", n, r.issue.took.Seconds(),
			r.floor.Seconds(), r.issue.took.Seconds()/r.floor.Seconds(), per(r.issue.allRequests),
			per(r.issue.objectWrites), mib(r.rss.peak), kib(float64(r.rss.peak)/float64(n)), marginal)
		if err := r.check(); err != nil { // reported at the end: the larger N still tell how cost grows
			broken = errors.Join(broken, fmt.Errorf("scaling, %d sessions: %w", n, err))
		}
		prev = r
	}
	out("\n")
	return broken
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/(1<<10)) }
