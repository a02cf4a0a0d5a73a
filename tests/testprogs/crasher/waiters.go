package main

import (
	"context"
	"fmt"
	"net"
	"runtime/pprof"
	"sync"
	"time"
)

// waitSet holds the objects the waiting goroutines block on. Everything stays reachable from the
// package variable "waits" so that nothing is collected (or closed by a finalizer) before the crash.
type waitSet struct {
	never  chan int // nobody ever sends: chan receive
	unread chan int // nobody ever receives: chan send
	// A select waits on receives from these three channels; nobody sends. (No send case: it
	// would pair with another select goroutine's receive.)
	selA     chan int
	selB     chan string
	selC     chan struct{}
	mu       sync.Mutex      // locked by newWaitSet: sync.Mutex.Lock
	rwWrite  sync.RWMutex    // write-locked: readers wait in sync.RWMutex.RLock
	rwRead   []*sync.RWMutex // read-locked, one per writer: writers wait in sync.RWMutex.Lock
	wg       sync.WaitGroup
	condMu   sync.Mutex
	cond     *sync.Cond
	condDone bool
	labeled  chan int

	netMu     sync.Mutex
	conns     []net.Conn     // both ends of every loopback connection
	listeners []net.Listener // every listener
}

var waits *waitSet

func newWaitSet() *waitSet {
	w := &waitSet{
		never:   make(chan int),
		unread:  make(chan int),
		selA:    make(chan int),
		selB:    make(chan string, 1),
		selC:    make(chan struct{}),
		labeled: make(chan int),
	}
	w.cond = sync.NewCond(&w.condMu)
	w.mu.Lock()
	w.rwWrite.Lock()
	w.wg.Add(1)
	return w
}

// The kinds of wait, in the order startWaiters spreads goroutines over them. Network waits use the
// poller and sleeps use timers: both keep the deadlock detector from firing, so the deadlock
// scenario leaves them out.
var (
	plainKinds = []string{"chan_receive", "chan_send", "select", "select_nocases", "mutex",
		"rwmutex_rlock", "rwmutex_lock", "waitgroup", "cond", "labels"}
	netTimerKinds = []string{"sleep", "net_read", "net_accept"}
)

// startWaiters starts n goroutines spread over the wait kinds (one of each when n equals the
// number of kinds) and returns when each is about to block.
//
//go:noinline
func startWaiters(n int, withNetAndTimers bool) {
	if waits == nil {
		waits = newWaitSet()
	}
	kinds := plainKinds
	if withNetAndTimers {
		kinds = append(append([]string(nil), plainKinds...), netTimerKinds...)
	}
	w := waits
	var ready sync.WaitGroup
	for i := 0; i < n; i++ {
		ready.Add(1)
		switch kind := kinds[i%len(kinds)]; kind {
		case "chan_receive":
			go recvForever(w, &ready)
		case "chan_send":
			go sendForever(w, &ready)
		case "select":
			go selectForever(w, &ready)
		case "select_nocases":
			go blockEmptySelect(&ready)
		case "mutex":
			go lockMutex(w, &ready)
		case "rwmutex_rlock":
			go readLockRW(w, &ready)
		case "rwmutex_lock":
			// Each writer gets its own read-locked RWMutex: writers sharing one would queue on
			// its internal Mutex (sync.Mutex.Lock) behind the first.
			rw := new(sync.RWMutex)
			rw.RLock()
			w.rwRead = append(w.rwRead, rw)
			go writeLockRW(rw, &ready)
		case "waitgroup":
			go waitGroupWait(w, &ready)
		case "cond":
			go condWait(w, &ready)
		case "labels":
			go labeledWorker(w, &ready)
		case "sleep":
			go sleepLong(&ready)
		case "net_read":
			conn, err := w.loopbackConn()
			if err != nil {
				panic(err)
			}
			go readConn(conn, &ready)
		case "net_accept":
			ln, err := w.listen()
			if err != nil {
				panic(err)
			}
			go acceptLoop(ln, &ready)
		default:
			panic("unknown wait kind " + kind)
		}
	}
	ready.Wait()
}

// startBackground starts the background set: one goroutine of every wait kind.
func startBackground(withNetAndTimers bool) {
	n := len(plainKinds)
	if withNetAndTimers {
		n += len(netTimerKinds)
	}
	startWaiters(n, withNetAndTimers)
}

func announce(kind string, ready *sync.WaitGroup) {
	registry.add(kind, goid())
	ready.Done()
}

//go:noinline
func recvForever(w *waitSet, ready *sync.WaitGroup) {
	announce("chan_receive", ready)
	v := <-w.never
	panic(v)
}

//go:noinline
func sendForever(w *waitSet, ready *sync.WaitGroup) {
	announce("chan_send", ready)
	w.unread <- 42
}

//go:noinline
func selectForever(w *waitSet, ready *sync.WaitGroup) {
	announce("select", ready)
	select {
	case v := <-w.selA:
		panic(v)
	case s := <-w.selB:
		panic(s)
	case <-w.selC:
	}
	panic("unreachable")
}

//go:noinline
func blockEmptySelect(ready *sync.WaitGroup) {
	announce("select_nocases", ready)
	select {}
}

//go:noinline
func lockMutex(w *waitSet, ready *sync.WaitGroup) {
	announce("mutex", ready)
	w.mu.Lock()
	panic("mutex acquired")
}

//go:noinline
func readLockRW(w *waitSet, ready *sync.WaitGroup) {
	announce("rwmutex_rlock", ready)
	w.rwWrite.RLock()
	panic("rwmutex read-locked")
}

//go:noinline
func writeLockRW(rw *sync.RWMutex, ready *sync.WaitGroup) {
	announce("rwmutex_lock", ready)
	rw.Lock()
	panic("rwmutex write-locked")
}

//go:noinline
func waitGroupWait(w *waitSet, ready *sync.WaitGroup) {
	announce("waitgroup", ready)
	w.wg.Wait()
	panic("waitgroup done")
}

//go:noinline
func condWait(w *waitSet, ready *sync.WaitGroup) {
	w.condMu.Lock()
	announce("cond", ready)
	for !w.condDone {
		w.cond.Wait()
	}
	w.condMu.Unlock()
}

//go:noinline
func sleepLong(ready *sync.WaitGroup) {
	announce("sleep", ready)
	time.Sleep(24 * time.Hour)
}

// labeledWorker runs with pprof labels request_id=42, as a request-scoped worker would.
//
//go:noinline
func labeledWorker(w *waitSet, ready *sync.WaitGroup) {
	ctx := context.Background()
	pprof.Do(ctx, pprof.Labels("request_id", "42", "handler", "orders"), func(ctx context.Context) {
		waitForWork(ctx, w, ready)
	})
}

//go:noinline
func waitForWork(ctx context.Context, w *waitSet, ready *sync.WaitGroup) {
	announce("labels", ready)
	v := <-w.labeled
	panic(v)
}

// listen opens a loopback listener. Each acceptor has its own: goroutines sharing one listener
// would wait on its fd mutex (semacquire) instead of the poller.
func (w *waitSet) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w.netMu.Lock()
	w.listeners = append(w.listeners, ln)
	w.netMu.Unlock()
	return ln, nil
}

// loopbackConn connects a loopback TCP pair and returns the server end; the client end never writes.
func (w *waitSet) loopbackConn() (net.Conn, error) {
	ln, err := w.listen()
	if err != nil {
		return nil, err
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	server, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	w.netMu.Lock()
	w.conns = append(w.conns, client, server)
	w.netMu.Unlock()
	return server, nil
}

//go:noinline
func readConn(conn net.Conn, ready *sync.WaitGroup) {
	announce("net_read", ready)
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	panic(fmt.Sprint("read returned ", n, err))
}

//go:noinline
func acceptLoop(ln net.Listener, ready *sync.WaitGroup) {
	announce("net_accept", ready)
	for {
		conn, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
}
