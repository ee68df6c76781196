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
	"path/filepath"
	"testing"

	"k8s.io/mount-utils"
)

// A restarted plugin finds its tmpfs still mounted and must not hide it (and the volumes on it) under a new one.
func TestMountTmpfsOnlyOnce(t *testing.T) {
	root := filepath.Join(t.TempDir(), "volumes")
	m := mount.NewFakeMounter(nil)
	if err := MountTmpfs(m, root); err != nil {
		t.Fatal(err)
	}
	if err := MountTmpfs(m, root); err != nil {
		t.Fatal(err)
	}
	log := m.GetLog()
	if len(log) != 1 || log[0].Action != mount.FakeActionMount || log[0].FSType != "tmpfs" || log[0].Target != root {
		t.Fatalf("mounts: %+v", log)
	}
}
