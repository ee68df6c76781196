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

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

var t0 = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "volumes"), clocktesting.NewFakeClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func token(n int) mintapi.Token {
	return mintapi.Token{Value: fmt.Sprintf("token-%d", n), ExpiresAt: t0.Add(time.Duration(n) * time.Minute)}
}

// A reader of the files during a swap sees a whole old or a whole new file, never a missing or partial one, and a
// reader that resolves ..data once reads a token and its own expiry.
func TestWriteTokenSwapsAtomically(t *testing.T) {
	s := newStore(t)
	if err := s.WriteToken("vol-1", token(0)); err != nil {
		t.Fatal(err)
	}
	dir := s.DataDir("vol-1")
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				tok, err := os.ReadFile(filepath.Join(dir, FileToken))
				if err != nil || !strings.HasPrefix(string(tok), "token-") {
					errs <- fmt.Errorf("token file: %q, %v", tok, err)
					return
				}
				target, err := os.Readlink(filepath.Join(dir, dataLink))
				if err != nil {
					errs <- err
					return
				}
				tok, err1 := os.ReadFile(filepath.Join(dir, target, FileToken))
				exp, err2 := os.ReadFile(filepath.Join(dir, target, FileExpiresAt))
				if err1 != nil || err2 != nil {
					continue // that directory was removed by the next swap: the reader retries, as through ..data
				}
				var n int
				_, _ = fmt.Sscanf(string(tok), "token-%d", &n)
				if want := token(n).ExpiresAt.Format(time.RFC3339); string(exp) != want {
					errs <- fmt.Errorf("%s with expiresAt %s, want %s", tok, exp, want)
					return
				}
			}
		})
	}
	// Refreshes come at least 10 s apart; 10 ms apart is already far more swaps than a reader ever races with (a
	// reader fails only if two swaps happen during one open: see TestWriteTokenKeepsThePreviousDirectory).
	for n := 1; n <= 100; n++ {
		if err := s.WriteToken("vol-1", token(n)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.ReadToken("vol-1")
	if err != nil || got != token(100) {
		t.Fatalf("ReadToken = %v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 5 { // ..<timestamp> (current and previous), ..data, expiresAt, token
		t.Fatalf("data dir holds %v", names)
	}
	fi, err := os.Stat(filepath.Join(dir, FileToken))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("token file mode %v, %v", fi.Mode(), err)
	}
}

// A reader that resolved ..data just before a swap still finds the directory it points to; the one before is removed.
func TestWriteTokenKeepsThePreviousDirectory(t *testing.T) {
	s := newStore(t)
	dir := s.DataDir("vol-1")
	if err := s.WriteToken("vol-1", token(1)); err != nil {
		t.Fatal(err)
	}
	first, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteToken("vol-1", token(2)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, first, FileToken)); err != nil || string(got) != "token-1" {
		t.Fatalf("the previous directory: %q, %v", got, err)
	}
	if err := s.WriteToken("vol-1", token(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Fatalf("the directory two swaps old is still there: %v", err)
	}
}

func TestSaveLoadRemove(t *testing.T) {
	s := newStore(t)
	st := State{VolumeID: "vol-1", TargetPath: "/pods/x", Pod: mintapi.PodRef{Namespace: "shop", Name: "app-0"},
		Attributes: map[string]string{mintapi.AttributeIssuerName: "platform"},
		PodToken:   mintapi.Token{Value: "pod-token", ExpiresAt: t0.Add(time.Hour)},
		IssuedAt:   t0, ExpiresAt: t0.Add(5 * time.Minute), RefreshAt: t0.Add(3 * time.Minute)}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(s.root, "vol-1", stateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v", fi.Mode(), err)
	}
	// A publish that failed before its state was saved leaves a directory without one: Load removes it.
	if err := s.WriteToken("vol-2", token(1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got) != 1 || got[0].VolumeID != "vol-1" || !got[0].RefreshAt.Equal(st.RefreshAt) ||
		got[0].PodToken != st.PodToken || got[0].Attributes[mintapi.AttributeIssuerName] != "platform" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if _, err := os.Stat(s.volumeDir("vol-2")); !os.IsNotExist(err) {
		t.Fatalf("vol-2 was left: %v", err)
	}
	if err := s.Remove("vol-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(); err != nil || len(got) != 0 {
		t.Fatalf("after Remove: %v, %v", got, err)
	}
	if err := s.Remove("never-there"); err != nil {
		t.Fatal(err)
	}
}

func TestValidVolumeID(t *testing.T) {
	for id, want := range map[string]bool{
		"csi-8f0a3c": true, "": false, "..": false, "../etc": false, "a/b": false, ".hidden": false,
		strings.Repeat("x", 129): false,
	} {
		if got := ValidVolumeID(id); got != want {
			t.Errorf("ValidVolumeID(%q) = %v", id, got)
		}
	}
}
