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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

func newInspectCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME",
		Short: "Show the claims of a session's token (never the token or its signature) and check its expiry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			bs, err := getSession(cmd, c, ns, args[0])
			if err != nil {
				return err
			}
			var s corev1.Secret
			key := client.ObjectKey{Namespace: ns, Name: bs.TokenSecretName()}
			if err := c.Get(cmd.Context(), key, &s); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("burnersession %q has no token Secret %q yet (see `kubectl burner status %s`)",
						bs.Name, key.Name, bs.Name)
				}
				return err
			}
			// Parse's errors never quote the Secret's values.
			tok, err := tokensecret.Parse(&s)
			if err != nil {
				return fmt.Errorf("token Secret %q: %w", key.Name, err)
			}
			tokenClaims, err := decodeJWT(tok.Value)
			if err != nil {
				return fmt.Errorf("token Secret %q: %w", key.Name, err)
			}
			return o.printInspect(bs, &s, tok, tokenClaims)
		},
	}
}

// claims of a JWT, decoded without verifying the signature (the plugin has no key to verify it with).
type claims struct {
	alg    string
	values map[string]any
}

// errNotJWT is all that is said about a token that cannot be decoded: a parser's message could quote part of it.
var errNotJWT = errors.New("the token is not a readable JWT (header.payload.signature, base64url JSON)")

// decodeJWT reads the header's algorithm and the payload's claims. The signature is neither verified nor decoded.
func decodeJWT(token string) (claims, error) {
	values := jwt.MapClaims{}
	t, _, err := jwt.NewParser(jwt.WithJSONNumber(), jwt.WithPaddingAllowed()).ParseUnverified(token, values)
	if err != nil {
		return claims{}, errNotJWT
	}
	alg, _ := t.Header["alg"].(string)
	return claims{alg: alg, values: values}, nil
}

// Claims shown first, with the name a person looks for; any others follow in name order.
var knownClaims = []struct{ name, label string }{
	{"sub", "Wallet (sub)"},
	{"scopes", "Scopes"},
	{"iat", "Issued (iat)"},
	{"nbf", "Not before (nbf)"},
	{"exp", "Expires (exp)"},
	{"jti", "ID (jti)"},
	{"iss", "Issuer (iss)"},
	{"aud", "Audience (aud)"},
}

var timeClaims = map[string]bool{"iat": true, "nbf": true, "exp": true}

func (o *options) printInspect(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret, tok tokensecret.Token,
	c claims) error {
	now := o.clock.Now()
	w := tabwriter.NewWriter(o.streams.Out, 0, 8, 2, ' ', 0)
	line := func(label, format string, args ...any) {
		_, _ = fmt.Fprintf(w, "%s:\t"+format+"\n", append([]any{label}, args...)...)
	}
	line("Session", "%s/%s", bs.Namespace, bs.Name)
	if r := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady); r != nil {
		line("Ready", "%s (%s): %s", r.Status, r.Reason, printable(r.Message))
	} else {
		line("Ready", "Unknown")
	}
	line("Token Secret", "%s (issued %s, expiresAt %s)", s.Name, when(now, tok.IssuedAt), when(now, tok.ExpiresAt))
	line("Template keys", "%s", templateKeys(s))
	line("Algorithm", "%s (signature not verified, not shown)", orNone(printable(c.alg)))

	rest := maps.Clone(c.values)
	for _, k := range knownClaims {
		if v, ok := rest[k.name]; ok {
			line(k.label, "%s", claimString(now, k.name, v))
			delete(rest, k.name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rest)) {
		line(printable(name), "%s", claimString(now, name, rest[name]))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return expiryVerdict(o.streams.Out, tok.ExpiresAt, c.values["exp"])
}

// templateKeys lists the keys the secretTemplate (the session's over its issuer's) keeps on the Secret, as the
// Secret records them.
func templateKeys(s *corev1.Secret) string {
	labels, annotations := tokensecret.TemplateKeys(s)
	var parts []string
	if len(labels) > 0 {
		parts = append(parts, "labels "+strings.Join(labels, ", "))
	}
	if len(annotations) > 0 {
		parts = append(parts, "annotations "+strings.Join(annotations, ", "))
	}
	return orNone(strings.Join(parts, "; "))
}

// expiryVerdict says whether the Secret's expiresAt, which the operator schedules refreshes by, is the token's
// own exp. The Secret keeps whole seconds, so they agree when equal to the second.
func expiryVerdict(out io.Writer, expiresAt time.Time, exp any) error {
	t, ok := unixTime(exp)
	var err error
	switch {
	case !ok:
		_, err = fmt.Fprintln(out, "Expiry check: the token has no exp claim; the Secret's expiresAt cannot be checked.")
	case t.Unix() == expiresAt.Unix():
		_, err = fmt.Fprintln(out, "Expiry check: the Secret's expiresAt agrees with the token's exp.")
	default:
		_, err = fmt.Fprintf(out, "Expiry check: MISMATCH: the Secret's expiresAt is %s, the token's exp is %s (%s).\n",
			expiresAt.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339), expiresAt.Sub(t))
	}
	return err
}

func claimString(now time.Time, name string, v any) string {
	if timeClaims[name] {
		if t, ok := unixTime(v); ok {
			return when(now, t)
		}
	}
	switch v := v.(type) {
	case string:
		return printable(v)
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, printable(fmt.Sprint(e)))
		}
		return strings.Join(parts, " ")
	default:
		// JSON escapes the C0 controls but not DEL, the C1 controls or Unicode's format characters.
		b, _ := json.Marshal(v)
		return printable(string(b))
	}
}

// printable is s as a terminal can show it harmlessly. Claims are the upstream's text: an escape sequence in one
// could clear the screen or rewrite what was printed, a line break forge a line of the output. A string with any
// character that is not printable (a control, a format character such as a bidi override, invalid UTF-8) is shown
// quoted, with Go's escapes.
func printable(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

func unixTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// when renders t as RFC 3339 with the time left or passed.
func when(now, t time.Time) string {
	mt := metav1.NewTime(t)
	rel := until(now, &mt, "")
	if t.Before(now) {
		rel = strings.TrimSpace(rel)
	} else {
		rel = "in " + rel
	}
	return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339), rel)
}
