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

// Package storage keeps what the CSI node plugin needs on the node: per volume, the token files the pod sees (swapped
// atomically, the way the kubelet's own volumes are) and a state file to resume the volume after a plugin restart
// without minting again. The root is meant to be a tmpfs (MountTmpfs), so no token reaches a disk.
package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// The files a volume holds (CONTRACT.md): the same names as the token Secret's keys.
const (
	FileToken     = "token"
	FileExpiresAt = "expiresAt"
)

const (
	stateFile = "state.json"
	dataDir   = "data"
	// dataLink points at the current timestamped directory; the files the pod opens are links through it, so one
	// rename switches both files at once (the kubelet's AtomicWriter layout: ..data and ..<timestamp>).
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
)

// State is what the node keeps about one volume.
type State struct {
	VolumeID   string         `json:"volumeID"`
	TargetPath string         `json:"targetPath"`
	Pod        mintapi.PodRef `json:"pod"`
	// Attributes are the volume's own attributes (mintapi.OwnAttributes).
	Attributes map[string]string `json:"attributes"`
	// PodToken is the pod's ServiceAccount token the kubelet gave at the last (re)publish, kept so that a restarted
	// plugin can refresh before the kubelet publishes again. It lives on the tmpfs, readable by root only.
	PodToken mintapi.Token `json:"podToken"`
	// IssuedAt, ExpiresAt and RefreshAt are the times of the token in the volume's files.
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	RefreshAt time.Time `json:"refreshAt"`
}

// Store keeps volumes under one root directory.
type Store struct {
	root  string
	clock clock.PassiveClock
}

// New returns a Store under root, creating it (root only) if needed.
func New(root string, clk clock.PassiveClock) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	return &Store{root: root, clock: clk}, nil
}

// ValidVolumeID says whether id can name a directory under the root: no separator, no dot-dot, nothing hidden.
func ValidVolumeID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, `/\`) && !strings.HasPrefix(id, ".")
}

// DataDir is the directory bind-mounted into the pod: the files and nothing else.
func (s *Store) DataDir(volumeID string) string { return filepath.Join(s.root, volumeID, dataDir) }

func (s *Store) volumeDir(volumeID string) string { return filepath.Join(s.root, volumeID) }

// WriteToken replaces the volume's files with tok, atomically for a reader of either file.
func (s *Store) WriteToken(volumeID string, tok mintapi.Token) error {
	dir := s.DataDir(volumeID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeAtomic(dir, s.clock.Now(), map[string][]byte{
		FileToken:     []byte(tok.Value),
		FileExpiresAt: []byte(tok.ExpiresAt.UTC().Format(time.RFC3339)),
	})
}

// ReadToken reads the volume's current files.
func (s *Store) ReadToken(volumeID string) (mintapi.Token, error) {
	dir := s.DataDir(volumeID)
	value, err := os.ReadFile(filepath.Join(dir, FileToken))
	if err != nil {
		return mintapi.Token{}, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileExpiresAt))
	if err != nil {
		return mintapi.Token{}, err
	}
	expiresAt, err := time.Parse(time.RFC3339, string(raw))
	if err != nil {
		return mintapi.Token{}, fmt.Errorf("volume %s: %s is not RFC 3339", volumeID, FileExpiresAt)
	}
	return mintapi.Token{Value: string(value), ExpiresAt: expiresAt}, nil
}

// Save writes the volume's state, atomically.
func (s *Store) Save(st State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir := s.volumeDir(st.VolumeID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, stateFile))
}

// Load returns the state of every volume kept. A directory without a state was left by a publish that failed before
// its volume was mounted anywhere, and is removed.
func (s *Store) Load() ([]State, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	var states []State
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !ValidVolumeID(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.root, e.Name(), stateFile))
		if errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, s.Remove(e.Name()))
			continue
		}
		var st State
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil || st.VolumeID != e.Name() {
			errs = append(errs, fmt.Errorf("volume %s: unreadable state: %v", e.Name(), err))
			continue
		}
		states = append(states, st)
	}
	return states, errors.Join(errs...)
}

// Remove deletes everything kept for the volume; a volume not kept is no error.
func (s *Store) Remove(volumeID string) error {
	return os.RemoveAll(s.volumeDir(volumeID))
}

// writeAtomic writes files into a new timestamped directory of dir, points dataLink at it with one rename, makes
// each file a link through dataLink, and removes the directories older than the one it replaced. A reader opening a
// file sees the old content or the new, never a mix or nothing. The replaced directory is kept until the next
// swap (unlike the kubelet's AtomicWriter, which removes it at once): a reader whose path walk resolved dataLink just
// before the rename still finds it.
func writeAtomic(dir string, now time.Time, files map[string][]byte) error {
	ts, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(ts, name), content, 0o444); err != nil {
			_ = os.RemoveAll(ts)
			return err
		}
	}
	previous, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmpLink := filepath.Join(dir, dataLinkTmp)
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		_ = os.RemoveAll(ts)
		return err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		_ = os.RemoveAll(ts)
		return err
	}
	for name := range files {
		if err := ensureLink(filepath.Join(dir, name), filepath.Join(dataLink, name)); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "..") && e.Name() != filepath.Base(ts) && e.Name() != previous {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// ensureLink makes path a symbolic link to target, replacing whatever else is there with one rename.
func ensureLink(path, target string) error {
	if got, err := os.Readlink(path); err == nil && got == target {
		return nil
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
