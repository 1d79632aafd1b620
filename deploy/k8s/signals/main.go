// Command signals is the helper container the Kubernetes target puts
// beside each part in its pod, which shares one process namespace: the
// Kubernetes API can neither freeze a pod's processes nor kill them in
// place, and this does both when the harness execs it.
//
//	signals wait        idle until SIGTERM (the container's own process)
//	signals send SIG    send SIG (STOP, CONT, TERM or KILL) to every process of the pod's other containers
//	signals state       print "running N stopped M": those processes by state
//
// The other containers' processes are those in another cgroup than this
// one's, but for the pod's sandbox process (PID 1).
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

var signals = map[string]syscall.Signal{"STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "signals:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 1 && args[0] == "wait":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		return nil
	case len(args) == 2 && args[0] == "send":
		sig, ok := signals[args[1]]
		if !ok {
			return fmt.Errorf("send %s: want STOP, CONT, TERM or KILL", args[1])
		}
		pids, err := others()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			// A process may exit between the listing and the signal.
			if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
				return fmt.Errorf("send %s to %d: %w", args[1], pid, err)
			}
		}
		fmt.Printf("sent %s to %d processes\n", args[1], len(pids))
		return nil
	case len(args) == 1 && args[0] == "state":
		pids, err := others()
		if err != nil {
			return err
		}
		running, stopped := 0, 0
		for _, pid := range pids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue // exited
			}
			// The state follows the command's closing parenthesis.
			if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) {
				switch b[i+2] {
				case 'T', 't':
					stopped++
				case 'Z', 'X':
				default:
					running++
				}
			}
		}
		fmt.Printf("running %d stopped %d\n", running, stopped)
		return nil
	}
	return fmt.Errorf("usage: signals wait | send STOP|CONT|TERM|KILL | state")
}

// others are the processes of the pod's other containers.
func others() ([]int, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(d, "/proc/"))
		if err != nil || pid == 1 {
			continue
		}
		cg, err := os.ReadFile(d + "/cgroup")
		if err != nil || bytes.Equal(cg, self) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
