// Package scenarios_test runs mqchaos's scenario catalogue against a
// described system: the reference services by default, or the system
// whose description -system (or MQCHAOS_SYSTEM) names.
//
//	go tool ginkgo ./scenarios                                  # the reference system
//	go tool ginkgo ./scenarios -- -system=systems/pyshop/system.yaml
//	go tool ginkgo --label-filter=safe ./scenarios              # the guarantees only
//	go tool ginkgo --label-filter='guarantee:no-loss' ./scenarios
package scenarios_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/scenarios/suite"
)

var systemPath = flag.String("system", os.Getenv("MQCHAOS_SYSTEM"), "the system description to run the catalogue against (default: the reference system)")

func TestScenarios(t *testing.T) {
	path := *systemPath
	root, err := stack.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case path == "":
		path = filepath.Join(root, "systems", "reference", "system.yaml")
	case !filepath.IsAbs(path):
		// go test runs in the package's directory; a path given on the
		// command line is relative to the module root, as make runs it.
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(root, path)
		}
	}
	suite.Setup(t, path)
	RegisterFailHandler(Fail)
	RunSpecs(t, "mqchaos scenarios: "+suite.System().Name)
}

var _ = suite.Declare()
