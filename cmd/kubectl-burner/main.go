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

// kubectl-burner is the kubectl plugin for BurnerSessions: `kubectl burner status|refresh|inspect`.
package main

import (
	"os"

	// Client auth plugins (OIDC, exec, cloud providers), as kubectl has them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/burner-operator/burner-operator/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
