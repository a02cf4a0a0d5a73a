// Command lrpaths leaves goroutines stopped where unwinding takes the rarer paths, then dies of a
// fatal error thrown on the system stack, so that its core (GOTRACEBACK=crash) shows them all:
//
//   - a goroutine preempted asynchronously (sysmon's signal) in a loop without calls: its stack
//     holds runtime.asyncPreempt, a call injected by the signal handler, above a frame that may
//     have no frame of its own (on arm64 its return address is then the LR the handler saved);
//   - goroutines created but never run: the scheduler saved them at their function's entry (on
//     arm64 with goexit in sched.lr, not on the stack);
//   - the main goroutine, which throws "go of nil func value" from runtime.newproc on the system
//     stack: the crashing thread's frames go from g0 through runtime.systemstack back to the
//     goroutine's stack.
//
// Before it crashes it prints "CRASHER-READY {json}" with the spinner's id, as the crasher does.
// GOMAXPROCS is 1: nothing runs in parallel with main, so the goroutines stay where they stopped.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

var spins atomic.Uint64

// spin loops without a call (and without a frame on arm64) until preempted asynchronously.
//
//go:noinline
func spin(n *uint64) {
	for {
		*n++
	}
}

//go:noinline
func spinner(id chan<- int) {
	id <- goid()
	var n uint64
	spin(&n)
}

//go:noinline
func neverRun(i int) {
	spins.Add(uint64(i))
}

func goid() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	line := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	id, err := strconv.Atoi(string(line[:bytes.IndexByte(line, ' ')]))
	if err != nil {
		panic(err)
	}
	return id
}

//go:noinline
func crash(f func()) {
	go f() // f is nil: a fatal error on the system stack
}

func main() {
	runtime.GOMAXPROCS(1)
	ids := make(chan int, 1)
	go spinner(ids)
	spinnerID := <-ids
	// Sleeping lets the spinner run; sysmon preempts it every 10ms, and when the timer is due the
	// scheduler runs main again, leaving the spinner runnable where the last preemption stopped it.
	time.Sleep(200 * time.Millisecond)
	data, _ := json.Marshal(map[string]any{
		"pid":        os.Getpid(),
		"scenario":   "run",
		"goroutines": map[string][]int{"spinner": {spinnerID}},
	})
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
	// No system call from here on: one would let another thread take the P and run them.
	go neverRun(1)
	go neverRun(2)
	crash(nil)
}
