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

package cli

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

// now is the fixed time the plugin computes relative times with in these tests.
var now = time.Now().UTC().Truncate(time.Second)

type result struct {
	code           int
	stdout, stderr string
}

// plugin runs `kubectl burner args...` against the test apiserver.
func plugin(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append(args, "--kubeconfig", env.KubeconfigFile(t)),
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		clocktesting.NewFakePassiveClock(now))
	return result{code, out.String(), errOut.String()}
}

func createSession(t *testing.T, ns, name string, status burnerv1alpha1.BurnerSessionStatus) {
	t.Helper()
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress:   wallet,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "burner-api-key"},
		},
	}
	if err := env.Client.Create(t.Context(), bs); err != nil {
		t.Fatal(err)
	}
	bs.Status = status
	if err := env.Client.Status().Update(t.Context(), bs); err != nil {
		t.Fatal(err)
	}
}

func readyStatus(status metav1.ConditionStatus, reason string) []metav1.Condition {
	return []metav1.Condition{{Type: burnerv1alpha1.ConditionReady, Status: status, Reason: reason,
		Message: "test", LastTransitionTime: metav1.NewTime(now)}}
}

func at(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(d))
	return &t
}

func TestStatusShowsReadinessTimesAndFailures(t *testing.T) {
	ns := env.Namespace(t)
	createSession(t, ns, "healthy", burnerv1alpha1.BurnerSessionStatus{
		Conditions: readyStatus(metav1.ConditionTrue, "Issued"),
		ExpiresAt:  at(4 * time.Minute), RefreshAt: at(2 * time.Minute),
	})
	createSession(t, ns, "failing", burnerv1alpha1.BurnerSessionStatus{
		Conditions: readyStatus(metav1.ConditionFalse, "Expired"),
		ExpiresAt:  at(-90 * time.Second), RefreshAt: at(-3 * time.Minute),
		FailedAttempts: 3, LastFailureReason: "UpstreamError", LastFailureTime: at(-20 * time.Second),
	})

	r := plugin(t, "status", "-n", ns)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two rows:\n%s", r.stdout)
	}
	for _, want := range []string{"SESSION", "ISSUER/KEY", "READY", "REASON", "EXPIRES IN", "REFRESH IN", "FAILED",
		"LAST FAILURE"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header lacks %s: %s", want, lines[0])
		}
	}
	// Rows come in name order from the apiserver: failing, then healthy.
	for _, want := range []string{"failing", "Secret/burner-api-key", "False", "Expired", "expired 90s ago",
		"due 3m ago", "3", "UpstreamError (20s ago)"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	for _, want := range []string{"healthy", "True", "Issued", "4m", "2m"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row %q lacks %q", lines[2], want)
		}
	}

	viaIssuer := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "via-issuer"},
		Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, IssuerRef: &burnerv1alpha1.IssuerReference{
			Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: "platform"}},
	}
	if err := env.Client.Create(t.Context(), viaIssuer); err != nil {
		t.Fatal(err)
	}
	if r := plugin(t, "status", "-n", ns, "via-issuer"); !strings.Contains(r.stdout, "ClusterBurnerIssuer/platform") {
		t.Fatalf("a session with an issuer shows it:\n%s%s", r.stdout, r.stderr)
	}

	all := plugin(t, "status", "-A")
	if all.code != 0 || !strings.HasPrefix(all.stdout, "NAMESPACE") || !strings.Contains(all.stdout, ns) {
		t.Fatalf("status -A: exit %d, want a NAMESPACE column with %s:\n%s%s", all.code, ns, all.stdout, all.stderr)
	}
}

func TestRefreshSetsANewValueOnEveryCall(t *testing.T) {
	ns := env.Namespace(t)
	createSession(t, ns, "pay", burnerv1alpha1.BurnerSessionStatus{})
	createSession(t, ns, "other", burnerv1alpha1.BurnerSessionStatus{})

	// Two calls at the same instant (the fake clock does not move) must still set two different values.
	seen := make([]string, 0, 2)
	for range 2 {
		r := plugin(t, "refresh", "pay", "-n", ns)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		v := forceRefresh(t, ns, "pay")
		old := "<unset>"
		if len(seen) > 0 {
			old = seen[0]
		}
		if v == "" || !strings.Contains(r.stdout, old+" -> "+v) {
			t.Fatalf("refresh printed %q, annotation is %q", r.stdout, v)
		}
		seen = append(seen, v)
	}
	if seen[0] == seen[1] {
		t.Fatalf("two refreshes set the same value %q", seen[0])
	}

	r := plugin(t, "refresh", "--all", "-n", ns)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("refresh --all: exit %d, want two lines:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := forceRefresh(t, ns, "pay"); v == seen[1] || !strings.Contains(r.stdout, seen[1]+" -> "+v) {
		t.Fatalf("refresh --all did not replace %q (now %q):\n%s", seen[1], v, r.stdout)
	}
	if forceRefresh(t, ns, "other") == "" {
		t.Fatal("refresh --all skipped a session")
	}

	if r := plugin(t, "refresh", "-n", ns); r.code == 0 || !strings.Contains(r.stderr, "--all") {
		t.Fatalf("refresh without a name or --all: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRefreshSaysWhenItWillBeAnswered: a refresh soon after the last token says when the operator will answer it
// (its default minimum interval after that token); one later says a token is on its way.
func TestRefreshSaysWhenItWillBeAnswered(t *testing.T) {
	ns := env.Namespace(t)
	createSession(t, ns, "fresh", burnerv1alpha1.BurnerSessionStatus{IssuedAt: at(-10 * time.Second)})
	createSession(t, ns, "old", burnerv1alpha1.BurnerSessionStatus{IssuedAt: at(-time.Hour)})
	want := now.Add(policy.ForceRefreshMinInterval - 10*time.Second).Format(time.RFC3339)
	if r := plugin(t, "refresh", "fresh", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "one new token at "+want) {
		t.Fatalf("refresh right after a token printed %q, want the time it is answered, %s", r.stdout, want)
	}
	if r := plugin(t, "refresh", "old", "-n", ns); r.code != 0 || !strings.Contains(r.stdout, "on its way") {
		t.Fatalf("refresh printed %q", r.stdout)
	}
}

func forceRefresh(t *testing.T, ns, name string) string {
	t.Helper()
	var bs burnerv1alpha1.BurnerSession
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &bs); err != nil {
		t.Fatal(err)
	}
	return bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation]
}

// writeToken stores a signed JWT expiring at exp in the session's token Secret, whose expiresAt is secretExp, and
// returns the token.
func writeToken(t *testing.T, ns, name string, exp, secretExp time.Time) string {
	t.Helper()
	return writeTokenWith(t, ns, name, exp, secretExp, nil)
}

// writeTokenWith is writeToken with more claims in the token (or other values of its usual ones).
func writeTokenWith(t *testing.T, ns, name string, exp, secretExp time.Time, extra jwt.MapClaims) string {
	t.Helper()
	claims := jwt.MapClaims{
		"sub": wallet, "scopes": []string{"wallet:read", "transactions:build"}, "iat": now.Add(-time.Minute).Unix(),
		"exp": exp.Unix(), "jti": "0123456789abcdef01234567",
	}
	maps.Copy(claims, extra)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-signing-key"))
	if err != nil {
		t.Fatal(err)
	}
	var bs burnerv1alpha1.BurnerSession
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &bs); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: bs.TokenSecretName()}}
	tokensecret.Write(s, bs.Spec.WalletAddress, tokensecret.Token{Value: token, IssuedAt: now.Add(-time.Minute),
		ExpiresAt: secretExp, Scopes: []string{"wallet:read", "transactions:build"}, SpecHash: tokensecret.SpecHash(bs.Spec)})
	if err := env.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return token
}

func TestInspectShowsClaimsButNeverTheToken(t *testing.T) {
	ns := env.Namespace(t)
	createSession(t, ns, "pay", burnerv1alpha1.BurnerSessionStatus{
		Conditions: readyStatus(metav1.ConditionTrue, "Issued")})
	exp := now.Add(4 * time.Minute)
	token := writeToken(t, ns, "pay", exp, exp)
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "pay"}, &s); err != nil {
		t.Fatal(err)
	}
	tokensecret.ApplyTemplate(&s, burnerv1alpha1.SecretTemplate{
		Labels:      map[string]string{"velero.io/exclude-from-backup": "true", "team": "pay"},
		Annotations: map[string]string{"argocd.argoproj.io/compare-options": "IgnoreExtraneous"},
	})
	if err := env.Client.Update(t.Context(), &s); err != nil {
		t.Fatal(err)
	}

	r := plugin(t, "inspect", "pay", "-n", ns)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{wallet, "wallet:read transactions:build", "0123456789abcdef01234567", "HS256",
		exp.Format(time.RFC3339) + " (in 4m", "agrees with the token's exp",
		"labels team, velero.io/exclude-from-backup; annotations argocd.argoproj.io/compare-options"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoToken(t, token, r)

	// A Secret whose expiresAt is not the token's exp is called out.
	createSession(t, ns, "drift", burnerv1alpha1.BurnerSessionStatus{})
	token = writeToken(t, ns, "drift", exp, exp.Add(time.Hour))
	r = plugin(t, "inspect", "drift", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "MISMATCH") {
		t.Fatalf("exit %d, want a MISMATCH verdict:\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertNoToken(t, token, r)
}

// TestInspectEscapesControlCharacters: claims are the upstream's text, and one carrying a terminal escape sequence
// or a line break is shown quoted, so it can neither drive the terminal nor forge a line of the output.
func TestInspectEscapesControlCharacters(t *testing.T) {
	ns := env.Namespace(t)
	createSession(t, ns, "pay", burnerv1alpha1.BurnerSessionStatus{})
	exp := now.Add(4 * time.Minute)
	const forged = "Expiry check: the Secret's expiresAt agrees with the token's exp."
	token := writeTokenWith(t, ns, "pay", exp, exp, jwt.MapClaims{
		"iss":                  "evil\x1b[2J\n" + forged,
		"aud":                  []string{"a\rb", "c\u202ed"},
		"name\x1b]0;title\x07": "x",
		"nested":               map[string]any{"k": "\u009b31m"},
	})
	r := plugin(t, "inspect", "pay", "-n", ns)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.ContainsAny(r.stdout, "\x1b\x07\r\u202e\u009b") {
		t.Fatalf("inspect printed a control character raw:\n%q", r.stdout)
	}
	if n := strings.Count(r.stdout, "\n"+forged); n != 1 {
		t.Fatalf("%d lines say the expiry agrees, want 1 (a claim forged one):\n%s", n, r.stdout)
	}
	for _, want := range []string{`"evil\x1b[2J\n` + forged + `"`, `"a\rb" "c\u202ed"`, `"name\x1b]0;title\a":`,
		`"{\"k\":\"\u009b31m\"}"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks %s:\n%s", want, r.stdout)
		}
	}
	assertNoToken(t, token, r)
}

func assertNoToken(t *testing.T, token string, r result) {
	t.Helper()
	parts := strings.Split(token, ".")
	for _, secret := range []string{token, parts[2], parts[1]} {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			t.Fatalf("output contains the token or part of it:\n%s%s", r.stdout, r.stderr)
		}
	}
}

func TestMissingSessionExitsNonZeroWithAMessage(t *testing.T) {
	ns := env.Namespace(t)
	for _, args := range [][]string{{"status", "nope"}, {"refresh", "nope"}, {"inspect", "nope"}} {
		r := plugin(t, append(args, "-n", ns)...)
		if r.code == 0 || !strings.Contains(r.stderr, `burnersession "nope" not found in namespace "`+ns+`"`) ||
			r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", args[0], r.code, r.stdout, r.stderr)
		}
	}
	// A session without its token Secret yet: inspect says so instead of printing half an answer.
	createSession(t, ns, "new", burnerv1alpha1.BurnerSessionStatus{})
	if r := plugin(t, "inspect", "new", "-n", ns); r.code == 0 || !strings.Contains(r.stderr, "no token Secret") {
		t.Errorf("inspect before the first token: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDecodeJWT reads the claims of a token, padded or not, and says nothing of one it cannot read: a parser's
// message could quote part of the token.
func TestDecodeJWT(t *testing.T) {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "w", "exp": 1900000000}).
		SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	padded := strings.Join([]string{parts[0] + strings.Repeat("=", (4-len(parts[0])%4)%4), parts[1], parts[2]}, ".")
	for _, tok := range []string{token, padded} {
		c, err := decodeJWT(tok)
		if err != nil || c.alg != "HS256" || c.values["sub"] != "w" || c.values["exp"].(json.Number).String() != "1900000000" {
			t.Fatalf("decodeJWT(%q) = %+v, %v", tok, c, err)
		}
	}
	for _, bad := range []string{"secret-token-value", "a.b", "!!.e30.x", parts[0] + ".bm90LWpzb24." + parts[2]} {
		if _, err := decodeJWT(bad); err != errNotJWT || strings.Contains(err.Error(), bad) {
			t.Fatalf("decodeJWT(%q): %v, want errNotJWT", bad, err)
		}
	}
}
