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

package burnerapi

import (
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

const (
	testKey    = "ak_test_SuperSecretKey123"
	testToken  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJURVNUIn0.SECRETSIGNATURE"
	testWallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
)

// t0 is the fake "now" of every test.
var t0 = time.Date(2026, 4, 9, 12, 0, 0, 0, time.UTC)

// newClient serves h on 127.0.0.1 and returns a Client for it with a fake clock at t0 and no limiter; opts go last
// so a test can override either.
func newClient(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *clocktesting.FakePassiveClock) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clk := clocktesting.NewFakePassiveClock(t0)
	c, err := New(srv.URL, append([]Option{WithClock(clk), WithLimiter(nil)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clk
}

// okBody is a valid 200 body expiring at exp.
func okBody(exp time.Time, scopes ...string) string {
	return fmt.Sprintf(`{"token":%q,"expiresAt":%q,"scopes":[%s]}`,
		testToken, exp.UTC().Format("2006-01-02T15:04:05.000Z07:00"), quoteAll(scopes))
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ",")
}

// respond replies with a fixed status, headers and body. Date is t0, the fake clock's time, unless header sets it.
func respond(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", t0.Format(http.TimeFormat))
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// assertNoSecrets fails if any rendering of v contains the test API key or token.
func assertNoSecrets(t *testing.T, v any) {
	t.Helper()
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(format, v)
		if strings.Contains(out, testKey) || strings.Contains(out, testToken) {
			t.Errorf("%s of %T leaks a secret: %s", format, v, out)
		}
	}
}

// encodeBase58 is the inverse of decodeBase58, for building test addresses.
func encodeBase58(b []byte) string {
	var out []byte
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	n := new(big.Int).SetBytes(b)
	var digits []byte
	mod := new(big.Int)
	for base := big.NewInt(58); n.Sign() > 0; {
		n.DivMod(n, base, mod)
		digits = append(digits, base58Alphabet[mod.Int64()])
	}
	for _, d := range slices.Backward(digits) {
		out = append(out, d)
	}
	return string(out)
}
