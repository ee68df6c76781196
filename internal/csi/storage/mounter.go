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
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/mount-utils"
)

// SyscallMounter is mount-utils' mounter with Mount and Unmount made by system calls instead of the mount and umount
// programs, which the node plugin's image (distroless, as the manager's) does not have. The rest (mount point checks,
// the mount table) reads /proc as mount-utils does.
type SyscallMounter struct{ mount.Interface }

// NewSyscallMounter returns a SyscallMounter.
func NewSyscallMounter() SyscallMounter { return SyscallMounter{mount.New("")} }

var mountFlags = map[string]uintptr{"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV,
	"noexec": unix.MS_NOEXEC, "bind": unix.MS_BIND}

// Mount mounts source at target; options are flags (ro, nosuid, nodev, noexec, bind) or fstype data (mode=0700). A
// bind mount with flags is made in two calls, as mount(8) does: the bind, then a remount with the flags.
func (m SyscallMounter) Mount(source, target, fstype string, options []string) error {
	var flags uintptr
	var data []string
	for _, o := range options {
		if f, ok := mountFlags[o]; ok {
			flags |= f
		} else {
			data = append(data, o)
		}
	}
	if flags&unix.MS_BIND == 0 {
		if err := unix.Mount(source, target, fstype, flags, strings.Join(data, ",")); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", fstype, target, err)
		}
		return nil
	}
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s at %s: %w", source, target, err)
	}
	if rest := flags &^ unix.MS_BIND; rest != 0 {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|rest, ""); err != nil {
			_ = unix.Unmount(target, 0)
			return fmt.Errorf("remounting %s with %v: %w", target, options, err)
		}
	}
	return nil
}

// MountSensitive is Mount; no option here is secret.
func (m SyscallMounter) MountSensitive(source, target, fstype string, options, sensitive []string) error {
	return m.Mount(source, target, fstype, append(options, sensitive...))
}

// Unmount unmounts target.
func (m SyscallMounter) Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return fmt.Errorf("unmounting %s: %w", target, err)
	}
	return nil
}
