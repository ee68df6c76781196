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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
)

func newRefreshCommand(o *options) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "refresh NAME... | --all",
		Short: "Ask for one new token per session (sets a new force-refresh annotation value)",
		Example: `  kubectl burner refresh payments-burner
  kubectl burner refresh --all -n payments`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name one or more sessions, or pass --all")
			}
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			var sessions []burnerv1alpha1.BurnerSession
			if all {
				var list burnerv1alpha1.BurnerSessionList
				if err := c.List(cmd.Context(), &list, client.InNamespace(ns)); err != nil {
					return err
				}
				if len(list.Items) == 0 {
					_, _ = fmt.Fprintf(o.streams.ErrOut, "No BurnerSessions found in namespace %s.\n", ns)
				}
				sessions = list.Items
			} else {
				for _, name := range args {
					bs, err := getSession(cmd, c, ns, name)
					if err != nil {
						return err
					}
					sessions = append(sessions, *bs)
				}
			}
			for i := range sessions {
				if err := o.refresh(cmd, c, &sessions[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "refresh every session of the namespace")
	return cmd
}

// refresh sets a new force-refresh value on bs and prints the change.
func (o *options) refresh(cmd *cobra.Command, c client.Client, bs *burnerv1alpha1.BurnerSession) error {
	value, err := o.forceRefreshValue()
	if err != nil {
		return err
	}
	old, had := bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation]
	patch := client.MergeFrom(bs.DeepCopy())
	if bs.Annotations == nil {
		bs.Annotations = map[string]string{}
	}
	bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] = value
	if err := c.Patch(cmd.Context(), bs, patch); err != nil {
		return fmt.Errorf("burnersession %s/%s: %w", bs.Namespace, bs.Name, err)
	}
	if !had {
		old = "<unset>"
	}
	_, _ = fmt.Fprintf(o.streams.Out, "burnersession/%s in %s: %s %s -> %s (%s)\n",
		bs.Name, bs.Namespace, burnerv1alpha1.ForceRefreshAnnotation, old, value, o.whenAnswered(bs))
	return nil
}

// whenAnswered says when the operator answers a force-refresh of bs: at once, or, within its minimum interval after
// the last token (the default one: the plugin cannot see the manager's flags), when that has passed.
func (o *options) whenAnswered(bs *burnerv1alpha1.BurnerSession) string {
	if issued := bs.Status.IssuedAt; issued != nil {
		if at := issued.Add(policy.ForceRefreshMinInterval); o.clock.Now().Before(at) {
			return fmt.Sprintf("one new token at %s: the operator force-refreshes a session at most once per %s "+
				"after its last token by default; the Synced condition says when", at.UTC().Format(time.RFC3339),
				policy.ForceRefreshMinInterval)
		}
	}
	return "one new token is on its way"
}

// forceRefreshValue is the time (readable in `kubectl get -o yaml`) plus a random suffix: the operator acts on any
// new value, and two calls within the same clock tick must still differ.
func (o *options) forceRefreshValue() (string, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	return o.clock.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix), nil
}
