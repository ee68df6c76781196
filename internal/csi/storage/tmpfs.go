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
	"fmt"
	"os"

	"k8s.io/mount-utils"
)

// MountTmpfs mounts a tmpfs at root unless one (or anything) is already mounted there: after a plugin restart the
// tmpfs of the previous run is still there, holding the volumes to resume, and must not be hidden by a new one. With
// root under the kubelet's directory and Bidirectional mount propagation, the tmpfs outlives the plugin's container.
func MountTmpfs(m mount.Interface, root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	mounted, err := m.IsMountPoint(root)
	if err != nil {
		return fmt.Errorf("checking %s: %w", root, err)
	}
	if mounted {
		return nil
	}
	return m.Mount("tmpfs", root, "tmpfs", []string{"mode=0700", "nosuid", "nodev", "noexec"})
}
