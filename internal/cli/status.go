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
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

func newStatusCommand(o *options) *cobra.Command {
	var allNamespaces bool
	cmd := &cobra.Command{
		Use:   "status [NAME...]",
		Short: "Show the state of BurnerSessions: Ready, expiry, next refresh and failures",
		Example: `  kubectl burner status
  kubectl burner status -A
  kubectl burner status payments-burner -n payments`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			var sessions []burnerv1alpha1.BurnerSession
			switch {
			case len(args) > 0:
				for _, name := range args {
					bs, err := getSession(cmd, c, ns, name)
					if err != nil {
						return err
					}
					sessions = append(sessions, *bs)
				}
			default:
				var list burnerv1alpha1.BurnerSessionList
				var opts []client.ListOption
				if !allNamespaces {
					opts = append(opts, client.InNamespace(ns))
				}
				if err := c.List(cmd.Context(), &list, opts...); err != nil {
					return err
				}
				sessions = list.Items
			}
			if len(sessions) == 0 {
				if allNamespaces {
					_, _ = fmt.Fprintln(o.streams.ErrOut, "No BurnerSessions found.")
				} else {
					_, _ = fmt.Fprintf(o.streams.ErrOut, "No BurnerSessions found in namespace %s.\n", ns)
				}
				return nil
			}
			return o.printStatus(sessions, allNamespaces)
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the sessions of every namespace")
	return cmd
}

func (o *options) printStatus(sessions []burnerv1alpha1.BurnerSession, withNamespace bool) error {
	now := o.clock.Now()
	w := tabwriter.NewWriter(o.streams.Out, 0, 8, 2, ' ', 0)
	if withNamespace {
		_, _ = fmt.Fprint(w, "NAMESPACE\t")
	}
	_, _ = fmt.Fprintln(w, "SESSION\tISSUER/KEY\tREADY\tREASON\tEXPIRES IN\tREFRESH IN\tFAILED\tLAST FAILURE")
	for i := range sessions {
		bs := &sessions[i]
		ready, reason := "Unknown", ""
		if c := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady); c != nil {
			ready, reason = string(c.Status), c.Reason
		}
		if withNamespace {
			_, _ = fmt.Fprintf(w, "%s\t", bs.Namespace)
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", bs.Name, keySource(bs), ready, orNone(reason),
			until(now, bs.Status.ExpiresAt, "expired"), until(now, bs.Status.RefreshAt, "due"),
			bs.Status.FailedAttempts, lastFailure(now, bs))
	}
	return w.Flush()
}

// keySource names where a session's API key comes from, as Kind/name: its issuer, or its own key Secret.
func keySource(bs *burnerv1alpha1.BurnerSession) string {
	if ref := bs.Spec.IssuerRef; ref != nil {
		kind := ref.Kind
		if kind == "" {
			kind = burnerv1alpha1.BurnerIssuerKind
		}
		return kind + "/" + ref.Name
	}
	return "Secret/" + bs.Spec.APIKeySecretRef.Name
}

// until renders the time left before t ("4m10s"), past ("<past> 30s ago") or "-" when unset.
func until(now time.Time, t *metav1.Time, past string) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now)
	if d < 0 {
		return past + " " + duration.HumanDuration(-d) + " ago"
	}
	return duration.HumanDuration(d)
}

func lastFailure(now time.Time, bs *burnerv1alpha1.BurnerSession) string {
	if bs.Status.LastFailureReason == "" {
		return "-"
	}
	if bs.Status.LastFailureTime == nil {
		return bs.Status.LastFailureReason
	}
	return fmt.Sprintf("%s (%s ago)", bs.Status.LastFailureReason,
		duration.HumanDuration(now.Sub(bs.Status.LastFailureTime.Time)))
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
