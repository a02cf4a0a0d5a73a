// Command syscalls is a corpus program of gocore-tui: goroutines sit in blocking system calls on
// pipes and sockets (and, built with cgo, in a C call) when another goroutine crashes. Under
// GOTRACEBACK=crash every thread then gets a signal before the core is written, so each of those
// threads is inside a signal handler in the core, while the runtime prints its goroutine from
// where it entered the system call.
//
// Usage: syscalls SCENARIO, one of
//
//	panic  a goroutine panics
//	gonil  a goroutine starts a nil func: "fatal error: go of nil func value", thrown on the system stack
//	abort  the main goroutine, locked to its thread and blocked in read(2), gets SIGABRT (tgkill)
//
// Before crashing it prints "CRASHER-READY {json}" with the pid, the scenario and the ids of the
// goroutines of each kind.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Goroutine kinds, with whether the runtime shows them in a system call ([syscall]) or parked in
// the network poller ([IO wait]).
var inSyscall = map[string]bool{
	"pipe_read": true, "pipe_write": true, "socket_read": true, "socket_write": true,
	"udp_recvfrom": true, "tcp_accept": true, "cgo_call": true,
	"os_pipe_read": false, "net_accept": false,
}

var (
	mu  sync.Mutex
	ids = map[string][]int{}
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: syscalls panic|gonil|abort")
		os.Exit(2)
	}
	scenario := os.Args[1]
	startBlockers()
	switch scenario {
	case "panic":
		waitSyscalls(0)
		ready(scenario, nil)
		go crashWorker()
		select {}
	case "gonil":
		waitSyscalls(0)
		ready(scenario, nil)
		var f func()
		startNil(f)
	case "abort":
		abortInRead()
	default:
		fmt.Fprintf(os.Stderr, "syscalls: unknown scenario %q\n", scenario)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "syscalls: scenario returned without crashing")
	os.Exit(3)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// start runs f on a new goroutine registered under kind.
func start(kind string, f func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		mu.Lock()
		ids[kind] = append(ids[kind], goid())
		mu.Unlock()
		wg.Done()
		f()
	}()
	wg.Wait()
}

// startBlockers starts one goroutine of each kind.
func startBlockers() {
	var b [1]byte
	var p [2]int
	must(syscall.Pipe(p[:])) // blocking file descriptors: read(2) blocks in the kernel
	start("pipe_read", func() { syscall.Read(p[0], b[:]) })

	var q [2]int
	must(syscall.Pipe(q[:]))
	big := make([]byte, 1<<20) // more than the pipe holds: write(2) blocks
	start("pipe_write", func() { syscall.Write(q[1], big) })

	s, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	must(err)
	start("socket_read", func() { syscall.Read(s[0], b[:]) })

	t, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	must(err)
	huge := make([]byte, 16<<20) // more than both socket buffers hold
	start("socket_write", func() { syscall.Write(t[0], huge) })

	u, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	must(err)
	must(syscall.Bind(u, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	start("udp_recvfrom", func() { syscall.Recvfrom(u, b[:], 0) })

	l, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	must(err)
	must(syscall.Bind(l, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	must(syscall.Listen(l, 1))
	start("tcp_accept", func() { syscall.Accept(l) })

	r, _, err := os.Pipe() // non-blocking, in the network poller
	must(err)
	start("os_pipe_read", func() { r.Read(b[:]) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	start("net_accept", func() { ln.Accept() })

	if cgoBlock != nil {
		start("cgo_call", cgoBlock)
	}
}

// waitSyscalls waits until every goroutine of a kind that blocks in a system call shows
// [syscall] in a dump of all goroutines (plus extra more, not registered), and the others are
// parked, twice in a row; it gives up after ten seconds with a note on stderr.
func waitSyscalls(extra int) {
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	quiet := 0
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		statuses := headerStatuses(buf[:n])
		want, got := extra, 0
		settled := true
		mu.Lock()
		for kind, gs := range ids {
			for _, id := range gs {
				st := statuses[id]
				if inSyscall[kind] {
					want++
					if bytes.HasPrefix([]byte(st), []byte("syscall")) {
						got++
					}
				} else if st == "" || bytes.HasPrefix([]byte(st), []byte("running")) ||
					bytes.HasPrefix([]byte(st), []byte("runnable")) {
					settled = false
				}
			}
		}
		mu.Unlock()
		if extra > 0 {
			for id, st := range statuses {
				if id == 1 && bytes.HasPrefix([]byte(st), []byte("syscall")) {
					got++
				}
			}
		}
		if got == want && settled {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet = 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "syscalls: waitSyscalls: goroutines not in their system calls after 10s")
}

// headerStatuses maps goroutine id -> the text in brackets of its header in a traceback dump.
func headerStatuses(dump []byte) map[int]string {
	out := map[int]string{}
	for _, line := range bytes.Split(dump, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("goroutine ")) {
			continue
		}
		rest := line[len("goroutine "):]
		end := bytes.IndexAny(rest, " [")
		open, close := bytes.IndexByte(rest, '['), bytes.LastIndexByte(rest, ']')
		if end < 0 || open < 0 || close < open {
			continue
		}
		id, err := strconv.Atoi(string(rest[:end]))
		if err == nil {
			out[id] = string(rest[open+1 : close])
		}
	}
	return out
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

// ready prints the CRASHER-READY line.
func ready(scenario string, values map[string]any) {
	mu.Lock()
	line := map[string]any{"pid": os.Getpid(), "scenario": scenario, "goroutines": ids, "values": values}
	data, err := json.Marshal(line)
	mu.Unlock()
	must(err)
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
}

// crashWorker panics on its own goroutine.
//
//go:noinline
func crashWorker() {
	panic("syscalls: crash while goroutines sit in system calls")
}

// startNil starts a goroutine running f (nil: the runtime throws on the system stack).
//
//go:noinline
func startNil(f func()) {
	go f()
}

// abortInRead blocks the main goroutine, locked to its thread, in read(2) on a pipe; another
// goroutine sends that thread SIGABRT once the runtime shows it in the system call.
func abortInRead() {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	var p [2]int
	must(syscall.Pipe(p[:]))
	go func() {
		waitSyscalls(1)
		ready("abort", map[string]any{"tid": tid})
		syscall.Tgkill(os.Getpid(), tid, syscall.SIGABRT)
		select {}
	}()
	var b [1]byte
	syscall.Read(p[0], b[:])
}
