// Command crasher is the test corpus program of gocore-tui: it reproduces a few kinds of production
// crash, each after starting a background set of goroutines in different wait states, so that every
// core it leaves holds a rich, known state.
//
// Usage: crasher SCENARIO [ARGS...]
//
// Before crashing it prints one line "CRASHER-READY {json}" to stdout with the pid, the scenario and
// the values the crashing code holds. The harness runs it with GOTRACEBACK=crash and compares what
// a debugger reads from the core with what the Go runtime printed on stderr.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var scenarios = map[string]func(args []string){
	"panic":     runPanic,
	"nilderef":  runNilDeref,
	"httpabort": runHTTPAbort,
	"waits":     runWaits,
	"deadlock":  runDeadlock,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crasher SCENARIO [ARGS...]")
		os.Exit(2)
	}
	run, ok := scenarios[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "crasher: unknown scenario %q\n", os.Args[1])
		os.Exit(2)
	}
	run(os.Args[2:])
	fmt.Fprintln(os.Stderr, "crasher: scenario returned without crashing")
	os.Exit(3)
}

// readyLine is what the harness reads from stdout: the pid, the scenario, the goroutine ids of the
// background set, and the scenario's own values.
type readyLine struct {
	Pid        int              `json:"pid"`
	Scenario   string           `json:"scenario"`
	Goroutines map[string][]int `json:"goroutines"`
	Values     map[string]any   `json:"values"`
}

// printReady writes the CRASHER-READY line. It is called once, just before the crash.
func printReady(scenario string, values map[string]any) {
	line := readyLine{
		Pid:        os.Getpid(),
		Scenario:   scenario,
		Goroutines: registry.snapshot(),
		Values:     values,
	}
	data, err := json.Marshal(line)
	if err != nil {
		panic(err)
	}
	// os.Stdout is unbuffered: the line is in the pipe before the process dies.
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
}

// goid returns the id of the calling goroutine, read from its own traceback header.
func goid() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	line := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	end := bytes.IndexAny(line, " [")
	id, err := strconv.Atoi(string(line[:end]))
	if err != nil {
		panic("goid: cannot parse " + string(buf[:n]))
	}
	return id
}

// goroutineRegistry records which goroutine waits in which state, for the READY line.
type goroutineRegistry struct {
	mu    sync.Mutex
	byKey map[string][]int
}

var registry = &goroutineRegistry{byKey: map[string][]int{}}

func (r *goroutineRegistry) add(kind string, id int) {
	r.mu.Lock()
	r.byKey[kind] = append(r.byKey[kind], id)
	r.mu.Unlock()
}

func (r *goroutineRegistry) snapshot() map[string][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]int, len(r.byKey))
	for k, v := range r.byKey {
		out[k] = append([]int(nil), v...)
	}
	return out
}

// waitParked waits until every goroutine other than the caller is parked (waiting), so that the
// core shows every goroutine in its wait state: it must see them all parked twice in a row. It
// uses no timers (the deadlock scenario must not have any) and gives up after five seconds, with
// a note on stderr, rather than hang.
func waitParked() {
	me := goid()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 1<<16)
	quiet := 0
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if othersBusy(buf[:n], me) {
			quiet = 0
		} else if quiet++; quiet == 2 {
			return
		}
		runtime.Gosched()
	}
	fmt.Fprintln(os.Stderr, "crasher: waitParked: goroutines still busy after 5s")
}

// busyStatuses are the goroutine statuses that are not a wait: a goroutine in one of them may
// still change state (a syscall returning makes it runnable).
var busyStatuses = []string{"running", "runnable", "syscall", "preempted", "copystack", "idle"}

// othersBusy reports whether a goroutine other than me is not parked in a traceback dump.
func othersBusy(dump []byte, me int) bool {
	for _, line := range bytes.Split(dump, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("goroutine ")) {
			continue
		}
		rest := line[len("goroutine "):]
		end := bytes.IndexAny(rest, " [")
		if end < 0 {
			continue
		}
		id, err := strconv.Atoi(string(rest[:end]))
		if err != nil || id == me {
			continue
		}
		open := bytes.IndexByte(rest, '[')
		if open < 0 {
			continue
		}
		status := rest[open+1:]
		for _, busy := range busyStatuses {
			if bytes.HasPrefix(status, []byte(busy)) {
				return true
			}
		}
	}
	return false
}
