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

// Package cli is the kubectl plugin (`kubectl burner`): status, refresh and inspect of BurnerSessions. It reads the
// same API types and token Secret format (internal/tokensecret) as the operator, so the two cannot disagree about
// what a token Secret holds. It never prints a token, a token's signature or an API key.
package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Main runs the plugin with args (without the program name) and returns the exit status: 0 on success, 1 with a
// message on stderr otherwise.
func Main(args []string, streams genericiooptions.IOStreams) int {
	return run(args, streams, clock.RealClock{})
}

func run(args []string, streams genericiooptions.IOStreams, clk clock.PassiveClock) int {
	cmd := NewCommand(streams, clk)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		_, _ = fmt.Fprintln(streams.ErrOut, "error:", err)
		return 1
	}
	return 0
}

// options are what every subcommand shares: kubectl's connection flags, the output streams and the clock that
// relative times are computed with.
type options struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	clock   clock.PassiveClock
}

// NewCommand builds the `kubectl burner` command tree.
func NewCommand(streams genericiooptions.IOStreams, clk clock.PassiveClock) *cobra.Command {
	o := &options{flags: genericclioptions.NewConfigFlags(true), streams: streams, clock: clk}
	root := &cobra.Command{
		Use:   "kubectl-burner",
		Short: "Inspect and refresh BurnerSessions",
		// Help texts then read "kubectl burner ...", as the user types it.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl burner"},
		// Errors are printed once, by Main; a usage text would hide them.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	o.flags.AddFlags(root.PersistentFlags())
	root.AddCommand(newStatusCommand(o), newRefreshCommand(o), newInspectCommand(o))
	return root
}

// client connects to the cluster named by the kubeconfig flags and returns the namespace to work in: -n, or the
// context's namespace.
func (o *options) client() (client.Client, string, error) {
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(corev1.AddToScheme(scheme), burnerv1alpha1.AddToScheme(scheme)); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, ns, err
}

// getSession reads one session, with a message naming it when it does not exist.
func getSession(cmd *cobra.Command, c client.Client, ns, name string) (*burnerv1alpha1.BurnerSession, error) {
	var bs burnerv1alpha1.BurnerSession
	if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: name}, &bs); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("burnersession %q not found in namespace %q", name, ns)
		}
		return nil, err
	}
	return &bs, nil
}
