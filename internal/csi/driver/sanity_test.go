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

package driver

import (
	"path/filepath"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// sanitySkipped are the csi-sanity parts that do not apply to this driver:
//   - "[Controller Server]" and "GroupController": the driver has no Controller or GroupController service (inline
//     ephemeral volumes are created by the kubelet's NodePublishVolume alone; GetPluginCapabilities says so).
//   - "should remove target path": it creates its volume with CreateVolume first, which needs the Controller service;
//     TestPublishMountsTheFilesAndUnpublishRemovesThem checks the same for an ephemeral volume.
//
// The Node tests that need a volume from CreateVolume ("should work", "should be idempotent") and those of optional
// capabilities (staging, stats, expansion, health) skip themselves, as the driver reports none of them.
var sanitySkipped = []string{`\[Controller Server\]`, `GroupController`, `should remove target path`}

// TestSanity runs csi-sanity's Identity and Node suites against the driver on a unix socket.
func TestSanity(t *testing.T) {
	h := startDriver(t)
	dir := t.TempDir()
	cfg := sanity.NewTestConfig()
	cfg.Address = h.socket
	cfg.TargetPath = filepath.Join(dir, "target")
	cfg.StagingPath = filepath.Join(dir, "staging")
	sc := sanity.GinkgoTest(&cfg)
	defer sc.Finalize()

	gomega.RegisterFailHandler(ginkgo.Fail)
	suite, reporter := ginkgo.GinkgoConfiguration()
	suite.SkipStrings = sanitySkipped
	ginkgo.RunSpecs(t, "CSI sanity (Identity, Node)", suite, reporter)
}
