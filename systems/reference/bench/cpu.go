package bench

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// cpuWindow measures how busy the machine's CPUs were over a timed
// window, from /proc/stat: broker, database, services and bench together
// (containers share the host's kernel). Zero where /proc/stat is missing.
type cpuWindow struct {
	once  sync.Once
	busy  float64 // jiffies busy at the start
	total float64
	at    time.Time
}

// begin marks the start of the window; only the first call counts.
func (w *cpuWindow) begin() {
	w.once.Do(func() { w.busy, w.total = cpuJiffies(); w.at = time.Now() })
}

// cores is how many of the machine's cores were busy on average since
// begin (0 to runtime.NumCPU()).
func (w *cpuWindow) cores() float64 {
	busy, total := cpuJiffies()
	if total <= w.total || w.at.IsZero() {
		return 0
	}
	return (busy - w.busy) / (total - w.total) * float64(numCPU())
}

// cpuJiffies reads the first line of /proc/stat: busy (all but idle and
// iowait) and total.
func cpuJiffies() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return 0, 0
	}
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(string(f), 64)
		if i >= 8 { // guest time is counted in user time already
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func numCPU() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) > 3 && string(line[:3]) == "cpu" && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}
