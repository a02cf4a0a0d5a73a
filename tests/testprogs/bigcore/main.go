// bigcore makes big cores for the performance and mmap tests: N goroutines parked in four wait
// states (channel receive, mutex, select, sleep) and M MiB of live heap, then it panics.
//
//	bigcore crash N M
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var heap [][]byte // kept live so that the pages are in the core

//go:noinline
func parkRecv(ch chan int, ready *sync.WaitGroup) {
	ready.Done()
	<-ch
}

//go:noinline
func parkMutex(mu *sync.Mutex, ready *sync.WaitGroup) {
	ready.Done()
	mu.Lock()
}

//go:noinline
func parkSelect(a, b chan int, ready *sync.WaitGroup) {
	ready.Done()
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func parkSleep(ready *sync.WaitGroup) {
	ready.Done()
	time.Sleep(time.Hour)
}

//go:noinline
func crash(n, mb int) {
	panic(fmt.Sprintf("bigcore: %d goroutines, %d MiB", n, mb))
}

func main() {
	if len(os.Args) < 4 || os.Args[1] != "crash" {
		fmt.Fprintln(os.Stderr, "usage: bigcore crash GOROUTINES HEAP_MIB")
		os.Exit(2)
	}
	n, _ := strconv.Atoi(os.Args[2])
	mb, _ := strconv.Atoi(os.Args[3])
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i + j>>12 | 1) // touch every page, non-zero so it is dumped
		}
		heap = append(heap, b)
	}
	ch := make(chan int)
	a, b := make(chan int), make(chan int)
	var mu sync.Mutex
	mu.Lock()
	var ready sync.WaitGroup
	ready.Add(n)
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			go parkRecv(ch, &ready)
		case 1:
			go parkMutex(&mu, &ready)
		case 2:
			go parkSelect(a, b, &ready)
		case 3:
			go parkSleep(&ready)
		}
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // let the last ones park
	info, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "scenario": "crash", "goroutines": n, "heap_mib": mb,
		"num_goroutine": runtime.NumGoroutine()})
	fmt.Printf("CRASHER-READY %s\n", info)
	crash(n, mb)
}
