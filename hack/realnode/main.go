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

// Command realnode starts and stops the project's single-node cluster (test/realnode): `make node-up`,
// `make node-down`. Its supervise subcommand is the node's first process, inside the node's namespaces.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/burner-operator/burner-operator/test/realnode"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: realnode up|down|supervise [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "/tmp/burner-node", "the node's state, logs and kubeconfig")
	bins := fs.String("bins", "", "directory of the Kubernetes binaries (make node-bins)")
	images := fs.String("images", "", "directory of image tarballs to import (make node-images)")
	_ = fs.Parse(os.Args[2:])
	if err := run(os.Args[1], *dir, *bins, *images); err != nil {
		fmt.Fprintln(os.Stderr, "realnode:", err)
		os.Exit(1)
	}
}

func run(cmd, dir, bins, images string) error {
	switch cmd {
	case "up":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		tarballs, _ := filepath.Glob(filepath.Join(images, "*.tar"))
		n, err := realnode.Up(context.Background(), realnode.Config{Dir: dir, Bins: bins, Self: self, Images: tarballs})
		if err != nil {
			return err
		}
		fmt.Printf("node Ready in %.1fs; logs in %s\n    export KUBECONFIG=%s\n", n.Started.Seconds(),
			filepath.Join(dir, "logs"), n.Kubeconfig)
		return nil
	case "down":
		return realnode.Down(dir)
	case "supervise":
		return realnode.Supervise(dir, bins)
	}
	return fmt.Errorf("unknown command %q", cmd)
}
