// Command oncall is gocore-tui's test program for the on-call workflow: an HTTP-like server whose
// request handler, running with pprof labels, hands the request body to a worker goroutine's
// closure, which dereferences a nil pointer while the body is live.
//
// Usage: oncall SCENARIO (the only scenario is "handler").
//
// Beside it wait goroutines that carry pprof labels (set with pprof.Do, and with
// SetGoroutineLabels), one without labels, one whose creator has exited and one whose creator
// has returned from the function that created it. Before the crash it
// prints one line "CRASHER-READY {json}": the pid, each goroutine's id with the labels the program
// gave it (a goroutine inherits its creator's labels, as the runtime's newproc copies them), the
// ids of the handler, the worker, the orphan and its creator, the launcher and the goroutine it
// launched, and the body: its bytes (hex),
// len, cap and data address, the values a debugger must read from the core.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// goroutineInfo is what the READY line says about one goroutine.
type goroutineInfo struct {
	ID     int               `json:"id"`
	Role   string            `json:"role"`
	Labels map[string]string `json:"labels"`
}

var (
	infoMu sync.Mutex
	infos  []goroutineInfo
	ready  = map[string]any{}
	block  = make(chan struct{}) // never closed: the waiting goroutines stay parked
)

// The crashing request, its body and name, through pointers (x on a *[]byte and a *string opens
// the bytes they point to; on a *request, the struct's own bytes).
var (
	LastBody    *[]byte
	LastName    *string
	LastRequest *request
)

func record(role string, labels map[string]string) int {
	id := goid()
	infoMu.Lock()
	infos = append(infos, goroutineInfo{id, role, labels})
	infoMu.Unlock()
	return id
}

// goid returns the id of the calling goroutine, read from its own traceback header.
func goid() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	line := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	end := bytes.IndexAny(line, " [")
	id, err := strconv.Atoi(string(line[:end]))
	if err != nil {
		panic(err)
	}
	return id
}

// labelsOf is the label set as a map, in the words the program gave it.
func labelsOf(ctx context.Context) map[string]string {
	out := map[string]string{}
	pprof.ForLabels(ctx, func(k, v string) bool {
		out[k] = v
		return true
	})
	return out
}

type request struct {
	ID     string
	Tenant string
	Route  string
	raw    string
}

type routeMeta struct {
	Limit int
	Name  string
}

type server struct {
	routes map[string]*routeMeta // "/orders" has none: the worker dereferences nil
	done   sync.WaitGroup
}

// readBody copies the request's payload into a new body (with spare capacity, as io.ReadAll
// leaves it), and keeps a pointer to it for LastBody.
//
//go:noinline
func readBody(r *request) []byte {
	b := make([]byte, len(r.raw), len(r.raw)+13)
	copy(b, r.raw)
	b[3] = 0x00
	b[4] = 0xff
	LastBody = &b
	return b
}

//go:noinline
func checksum(b []byte) int {
	s := 0
	for i, c := range b {
		s += int(c) * (i + 1)
	}
	return s
}

// handle reads the body and hands it to a worker goroutine's closure; it waits for the answer,
// parked in its own frame.
//
//go:noinline
func (s *server) handle(r *request, ctx context.Context) int {
	body := readBody(r)
	name := r.ID + "@" + r.Tenant
	LastName = &name
	out := make(chan int)
	go func() {
		meta := s.routes[r.Route]
		route := strings.ToUpper(r.Route) // live across checksum: kept on the stack
		sum := checksum(body)
		describe(body, name, route)
		ready["worker"] = record("worker", labelsOf(ctx))
		waitParked()
		printReady()
		// The nil dereference: meta is nil, and body is used after it (live across the fault).
		n := meta.Limit + sum
		out <- n + len(body) + cap(body) + int(body[0])
	}()
	return <-out
}

// describe records the body as the worker holds it: the oracle of what a debugger reads.
//
//go:noinline
func describe(b []byte, name, route string) {
	ready["route"] = route
	ready["body_hex"] = hex.EncodeToString(b)
	ready["body_len"] = len(b)
	ready["body_cap"] = cap(b)
	ready["body_addr"] = fmt.Sprintf("%p", &b[0])
	ready["name"] = name
	ready["name_addr"] = fmt.Sprintf("%p", unsafe.StringData(name))
}

// launch starts a child and returns to its caller, which parks: the child's creator is alive, but
// no longer in the function whose go statement made the child.
//
//go:noinline
func launch(started chan<- int) {
	go orphan(started)
}

// spawner starts a child and returns: the child's creator is gone when the core is written.
//
//go:noinline
func spawner(started chan<- int) {
	ready["orphan_parent"] = record("spawner", nil)
	go orphan(started)
}

//go:noinline
func orphan(started chan<- int) {
	started <- record("orphan", nil)
	<-block
}

func printReady() {
	ready["pid"] = os.Getpid()
	ready["goroutines"] = infos
	data, err := json.Marshal(ready)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "handler" {
		fmt.Fprintln(os.Stderr, "usage: oncall handler")
		os.Exit(2)
	}
	var started sync.WaitGroup
	bg := context.Background()
	tenants := [][2]string{{"acme", "/orders"}, {"acme", "/orders"}, {"globex", "/users"}, {"acme", "/users"}}
	for i, tr := range tenants {
		started.Add(1)
		go func(i int, tenant, route string) {
			pprof.Do(bg, pprof.Labels("tenant", tenant, "route", route, "shard", strconv.Itoa(i%2)),
				func(ctx context.Context) {
					record("labelled", labelsOf(ctx))
					started.Done()
					<-block
				})
		}(i, tr[0], tr[1])
	}
	started.Add(1)
	go func() {
		ctx := pprof.WithLabels(bg, pprof.Labels("role", "janitor", "note", "a b=c"))
		pprof.SetGoroutineLabels(ctx)
		record("janitor", labelsOf(ctx))
		started.Done()
		<-block
	}()
	started.Add(1)
	go func() {
		record("plain", nil)
		started.Done()
		<-block
	}()
	orphanStarted := make(chan int)
	go spawner(orphanStarted)
	ready["orphan"] = <-orphanStarted
	go func() {
		ready["launcher"] = record("launcher", nil)
		launch(orphanStarted)
		<-block
	}()
	ready["launched"] = <-orphanStarted
	started.Wait()
	waitGone(ready["orphan_parent"].(int))

	s := &server{routes: map[string]*routeMeta{"/users": {Limit: 10, Name: "users"}}}
	raw := "POST /orders {\"sku\":\"X-1\",\"qty\":3} \x01\x02\x7f end"
	go func() {
		pprof.Do(bg, pprof.Labels("request_id", "7f3a9c", "tenant", "acme", "route", "/orders"),
			func(ctx context.Context) {
				ready["handler"] = record("handler", labelsOf(ctx))
				r := &request{ID: "7f3a9c", Tenant: "acme", Route: "/orders", raw: raw}
				LastRequest = r
				ready["request_addr"] = fmt.Sprintf("%p", r)
				ready["request_size"] = unsafe.Sizeof(*r)
				s.handle(r, ctx)
			})
	}()
	<-block
}

// waitGone waits until goroutine id has exited (it no longer appears in a dump of all goroutines).
func waitGone(id int) {
	buf := make([]byte, 1<<16)
	needle := []byte("goroutine " + strconv.Itoa(id) + " ")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n := runtime.Stack(buf, true)
		if n < len(buf) && !bytes.Contains(buf[:n], needle) {
			return
		}
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
		}
		runtime.Gosched()
	}
	fmt.Fprintln(os.Stderr, "oncall: waitGone: goroutine still there after 5s")
}

// waitParked waits until every goroutine other than the caller is parked, so that the core shows
// each in its wait state: it must see them all parked twice in a row (gives up after five seconds).
func waitParked() {
	me := goid()
	buf := make([]byte, 1<<16)
	quiet := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
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
	fmt.Fprintln(os.Stderr, "oncall: waitParked: goroutines still busy after 5s")
}

// othersBusy reports whether a goroutine other than me is not parked in a traceback dump.
func othersBusy(dump []byte, me int) bool {
	for _, line := range bytes.Split(dump, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("goroutine "))
		if !ok {
			continue
		}
		end := bytes.IndexAny(rest, " [")
		open := bytes.IndexByte(rest, '[')
		if end < 0 || open < 0 {
			continue
		}
		if id, err := strconv.Atoi(string(rest[:end])); err != nil || id == me {
			continue
		}
		for _, busy := range []string{"running", "runnable", "syscall", "preempted", "copystack", "idle"} {
			if bytes.HasPrefix(rest[open+1:], []byte(busy)) {
				return true
			}
		}
	}
	return false
}
