package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/stack"
)

// profile starts a CPU profile of d from each service's first replica
// (its /debug/pprof/profile) and writes it to dir/<phase>-<service>.pprof.
// The returned func waits for the profiles and logs where they went or
// why not. With dir empty it does nothing.
func profile(ctx context.Context, s *stack.Stack, dir, phase string, d time.Duration, services ...string) func(logf func(string, ...any)) {
	if dir == "" {
		return func(func(string, ...any)) {}
	}
	var wg sync.WaitGroup
	msgs := make([]string, len(services))
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, phase+"-"+svc+".pprof")
			if err := fetchProfile(ctx, s, svc, d, path); err != nil {
				msgs[i] = fmt.Sprintf("profile %s during %s: %v", svc, phase, err)
				return
			}
			msgs[i] = "wrote " + path
		}()
	}
	return func(logf func(string, ...any)) {
		wg.Wait()
		for _, m := range msgs {
			logf("%s", m)
		}
	}
}

func fetchProfile(ctx context.Context, s *stack.Stack, svc string, d time.Duration, path string) error {
	base, err := s.Replica(svc, 1).URL(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds="+strconv.Itoa(int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
