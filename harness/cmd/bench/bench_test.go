package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/history/synth"
	"github.com/mqchaos/mqchaos/harness/report"
)

// The benchmarks behind the command's figures, one step each, for
// profiling (go test -run '^$' -bench Judge -cpuprofile cpu.out
// ./harness/cmd/bench). Each draws its history once, untimed.

// benchUnits is the size of the judged history: BENCH_UNITS, or a
// million units.
func benchUnits() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_UNITS")); err == nil {
		return n
	}
	return 1_000_000
}

var (
	fileOnce sync.Once
	file     string
)

// historyFile is a history of benchUnits units written as JSON Lines.
func historyFile(b *testing.B) string {
	fileOnce.Do(func() {
		h, err := synth.Draw(synth.Shape{Units: benchUnits(), Length: 10 * time.Minute, Seed: 1}).History()
		if err != nil {
			b.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "mqchaos-bench-")
		if err != nil {
			b.Fatal(err)
		}
		file = filepath.Join(dir, "history.jsonl")
		fh, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := h.WriteJSONL(fh); err != nil {
			b.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			b.Fatal(err)
		}
	})
	return file
}

func readBack(b *testing.B) []history.Op {
	h, err := history.ReadFile(historyFile(b))
	if err != nil {
		b.Fatal(err)
	}
	return h.Ops()
}

func BenchmarkReadJSONL(b *testing.B) {
	path := historyFile(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := history.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJudge(b *testing.B) {
	ops := readBack(b)
	b.ResetTimer()
	for b.Loop() {
		if v := checker.Judge(ops); !v.Held() {
			b.Fatal("the synthetic run must hold")
		}
	}
}

func BenchmarkRecorded(b *testing.B) {
	ops := readBack(b)
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := checker.Recorded(ops); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	ops := readBack(b)
	v := checker.Judge(ops)
	runs := []report.Run{{Figures: report.Figures{Scenario: "soak", Side: "safe", System: "reference", Checks: v.Checks}, Ops: ops}}
	b.ResetTimer()
	for b.Loop() {
		if err := report.WriteHTML(io.Discard, runs); err != nil {
			b.Fatal(err)
		}
	}
}
