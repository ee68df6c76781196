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

package tokensecret

import (
	"bytes"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestCompactKeepsWhatDecisionsRead: a compacted token Secret parses to the same token but its value, holds neither
// the token nor the wallet, and SameData tells it apart from the Secret edited by hand, compacted or not.
func TestCompactKeepsWhatDecisionsRead(t *testing.T) {
	const token, wallet = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3In0.c2ln", "So11111111111111111111111111111111111111112"
	issued := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	full := &corev1.Secret{}
	Write(full, wallet, Token{Value: token, IssuedAt: issued, ExpiresAt: issued.Add(5 * time.Minute),
		Scopes: []string{"wallet:read"}, SpecHash: "abc", ForceRefresh: "1"})
	compact := full.DeepCopy()
	Compact(compact)

	want, err := Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(compact)
	if err != nil {
		t.Fatalf("a compacted Secret does not parse: %v", err)
	}
	got.Value, want.Value = "", ""
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.SpecHash != want.SpecHash ||
		got.ForceRefresh != want.ForceRefresh || len(got.Scopes) != 1 || got.Scopes[0] != want.Scopes[0] {
		t.Fatalf("compacted Secret parses to %+v, want %+v", got, want)
	}
	for k, v := range compact.Data {
		if bytes.Contains(v, []byte(token)) || bytes.Contains(v, []byte(wallet)) {
			t.Fatalf("the compacted Secret still holds the token or the wallet under %q", k)
		}
	}
	again := compact.DeepCopy()
	Compact(again)
	if !SameData(full, compact) || !SameData(compact, full) || !SameData(again, full) {
		t.Fatal("a Secret and its compacted copy do not hold the same data")
	}

	edited := full.DeepCopy()
	edited.Data[KeyWalletAddress] = []byte("edited")
	editedCompact := edited.DeepCopy()
	Compact(editedCompact)
	if SameData(full, edited) || SameData(compact, editedCompact) || SameData(full, editedCompact) {
		t.Fatal("an edit of the data is not seen through the digest")
	}
}
