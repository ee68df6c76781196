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

// Package timeline is the event loop of tests that play callers against a fake clock: values due at times, taken
// earliest first and, at equal times, in the order they were added.
package timeline

import (
	"container/heap"
	"time"
)

// Queue holds values due at times. The zero value is empty and ready to use.
type Queue[T any] struct {
	items items[T]
	seq   int
}

// Add makes v due at at.
func (q *Queue[T]) Add(at time.Time, v T) {
	q.seq++
	heap.Push(&q.items, item[T]{at: at, seq: q.seq, v: v})
}

// Next takes the earliest value and its time; ok is false when the queue is empty.
func (q *Queue[T]) Next() (at time.Time, v T, ok bool) {
	if len(q.items) == 0 {
		return at, v, false
	}
	it := heap.Pop(&q.items).(item[T])
	return it.at, it.v, true
}

// Len is the number of values in the queue.
func (q *Queue[T]) Len() int { return len(q.items) }

type item[T any] struct {
	at  time.Time
	seq int
	v   T
}

// items implements heap.Interface.
type items[T any] []item[T]

func (h items[T]) Len() int { return len(h) }
func (h items[T]) Less(i, j int) bool {
	return h[i].at.Before(h[j].at) || h[i].at.Equal(h[j].at) && h[i].seq < h[j].seq
}
func (h items[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *items[T]) Push(x any)   { *h = append(*h, x.(item[T])) }
func (h *items[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
