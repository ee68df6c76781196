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

package driver

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPublish500 publishes 500 volumes on one node plugin, 50 at a time, against a mint endpoint answering in
// 50 ms, and reports the publish latency (p50, p99) and the heap the volumes keep (fake mounts; the files on disk).
// Run: go test ./internal/csi/driver -run '^$' -bench Publish500 -benchtime 1x
func BenchmarkPublish500(b *testing.B) {
	for range b.N {
		h := startDriver(b)
		h.minter.Delay = 50 * time.Millisecond
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		const volumes, parallel = 500, 50
		latencies := make([]time.Duration, volumes)
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallel)
		dir := b.TempDir()
		for i := range volumes {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				req := publishRequest(filepath.Join(dir, fmt.Sprint(i)))
				req.VolumeId = fmt.Sprintf("csi-%04d", i)
				start := time.Now()
				if _, err := h.node.NodePublishVolume(context.Background(), req); err != nil {
					b.Error(err)
				}
				latencies[i] = time.Since(start)
			})
		}
		wg.Wait()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[volumes/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(latencies[volumes*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/volumes, "heap-B/volume")
		b.ReportMetric(float64(h.minter.Count())/volumes, "mints/volume")
	}
}
