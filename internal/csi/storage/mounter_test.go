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
	"os"
	"path/filepath"
	"testing"
)

// TestSyscallMounter mounts a tmpfs and a read-only bind of it, as the node plugin does, without mount(8). It needs
// root in a mount namespace of its own: `unshare -m go test -run TestSyscallMounter ./internal/csi/storage` with
// BURNER_MOUNT_TEST=1.
func TestSyscallMounter(t *testing.T) {
	if os.Getenv("BURNER_MOUNT_TEST") == "" {
		t.Skip("set BURNER_MOUNT_TEST=1 and run as root under unshare -m")
	}
	m := NewSyscallMounter()
	dir := t.TempDir()
	state, target := filepath.Join(dir, "state"), filepath.Join(dir, "target")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := MountTmpfs(m, state); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.IsMountPoint(state); err != nil || !ok {
		t.Fatalf("tmpfs at %s: mounted %v, %v", state, ok, err)
	}
	if err := os.WriteFile(filepath.Join(state, "token"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := m.Mount(state, target, "", []string{"bind", "ro"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(filepath.Join(target, "token")); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(target, "other"), nil, 0o444); err == nil {
		t.Error("the bind mount is writable")
	}
	for _, p := range []string{target, state} {
		if err := m.Unmount(p); err != nil {
			t.Error(err)
		}
	}
}
