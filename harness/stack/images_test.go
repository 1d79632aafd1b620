package stack

import (
	"context"
	"strings"
	"testing"
)

// In the mqchaos image there is no shell: a build command says to build
// the image beforehand, in one line.
func TestBuildCommandWithoutAShell(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := runBuildCommand(context.Background(), t.TempDir(), "./build.sh shop/worker:1")
	if err == nil || !strings.Contains(err.Error(), "build the image beforehand") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %v", err)
	}
}
