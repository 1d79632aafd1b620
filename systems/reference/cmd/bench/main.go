// Command bench measures the services' throughput against the broker's own
// limit on this machine, on one stack, and prints a table and, last, one
// JSON line. Sizes are flags; the defaults finish in under 3 minutes on 2 cores.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/systems/reference/bench"
)

func main() {
	var sz bench.Sizes
	flag.IntVar(&sz.Raw, "raw", 30000, "messages in the raw broker baseline (published and consumed twice)")
	flag.IntVar(&sz.Published, "published", 10000, "orders published straight to the broker, end to end")
	flag.IntVar(&sz.HTTP, "http", 3000, "orders placed over HTTP, end to end")
	flag.IntVar(&sz.HTTPClients, "clients", 16, "concurrent HTTP clients")
	flag.IntVar(&sz.Drain, "drain", 30000, "orders in the backlog (as many as -raw, so both are timed alike)")
	flag.IntVar(&sz.Items, "items", 3, "distinct items ordered")
	build := flag.Bool("build", true, "build the service images first")
	verbose := flag.Bool("v", false, "show testcontainers' log of the containers it starts")
	profiles := flag.String("profile", "", "write the services' CPU profiles (end to end, drain) to this directory")
	env := map[string]string{"LOG_LEVEL": "warn"}
	flag.Func("env", "KEY=VALUE for every service, e.g. -env CONSUME_BATCH=64 (repeatable)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want KEY=VALUE", kv)
		}
		env[k] = v
		return nil
	})
	flag.Parse()
	if !*verbose {
		tclog.SetDefault(log.New(io.Discard, "", 0))
	}
	sh, err := bench.ShapeOf(env)
	if err == nil {
		err = run(sz, sh, env, *build, *profiles)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sz bench.Sizes, sh bench.Shape, env map[string]string, build bool, profiles string) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelRun := context.WithTimeout(ctx, 15*time.Minute)
	defer cancelRun()
	for k, v := range stack.TestcontainersDefaults(ctx, os.Getenv) {
		os.Setenv(k, v)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	images := stack.ImagesFromEnv(ctx, os.Getenv)
	root, err := stack.ModuleRoot(".")
	if err != nil {
		return err
	}
	sys, err := system.Load(filepath.Join(root, "systems", "reference", "system.yaml"))
	if err != nil {
		return err
	}
	if build {
		logf("building service images")
		if _, err := stack.BuildImages(ctx, sys); err != nil {
			return err
		}
	}
	logf("starting a stack (%s, %s), every guarantee on, service settings %v", images.RabbitMQ, images.Postgres, env)
	s, err := stack.Start(ctx, sys, images, stack.Name("bench"), stack.Env("*", env))
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Terminate(tctx); err != nil {
			logf("terminate: %v", err)
		}
	}()
	if err != nil {
		return err
	}
	started := time.Now()
	res, err := bench.Run(ctx, s, sz, sh, profiles, logf)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	fmt.Printf("\nmqchaos bench on %s (%d cores, %s/%s), %.0fs\n%s\n", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Since(started).Seconds(), res.Table())
	fmt.Println(res.JSON())
	return nil
}
