// Command heapprog is the heap test program of gocore-tui.
//
// Usage: heapprog heap
//
// It allocates known populations (structs held by a global slice, a map of 7,777 entries, a linked
// list, big byte slices, a leak held by a global through two maps, values held only through
// interfaces, objects reachable only from a parked goroutine's stack), collects garbage with
// runtime.GC(), then leaves garbage behind: objects allocated after the collection whose addresses
// it keeps only as integers. It writes its own heap and goroutine profiles (base64 on stdout:
// "HEAPPROG-PROFILE heap|goroutine DATA"), prints its populations and the addresses of sample
// objects on the "CRASHER-READY {json}" line, then reads runtime.MemStats and prints them with no
// allocation in between ("HEAPPROG-MEMSTATS {json}", twice: read before and after printing, so the
// test can see that printing allocated nothing), and kills itself with SIGABRT.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	numItems      = 1000
	numEntries    = 7777
	numNodes      = 500
	numBigs       = 4
	bigSize       = 1 << 20
	leakOuter     = 10
	leakInner     = 100
	numStackOnly  = 300
	numStackLocal = 8
	numGarbage    = 400
	numCircles    = 50
	numWorkers    = 3
)

type Item struct {
	ID      int64
	Name    string
	Next    *Item
	Payload [4]int64
}

type Entry struct {
	Key   string
	Count int
	Item  *Item
}

type Node struct {
	Val  int
	Next *Node
}

type Leak struct {
	ID   int
	Tag  string
	Data [5]int64
}

type StackOnly struct {
	ID   int
	Self *StackOnly
	Pad  [3]int64
}

type StackLocal struct {
	ID  int
	Pad [2]int64
}

type Garbage struct {
	ID  int
	Ptr *Garbage
	Pad [2]int64
}

type Circle struct {
	R    float64
	Name string
}

var (
	items    []*Item
	table    map[int]*Entry
	list     *Node
	bigs     [][]byte
	leakRoot map[string]map[int]*Leak
	shapes   []any
)

// The addresses of the garbage, as integers: nothing keeps the objects alive.
var garbageAddrs [numGarbage]uintptr

func addr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

func build() {
	items = make([]*Item, numItems)
	for i := range items {
		items[i] = &Item{ID: int64(i), Name: fmt.Sprintf("item-%04d", i)}
		if i > 0 {
			items[i-1].Next = items[i]
		}
	}
	table = make(map[int]*Entry)
	for i := 0; i < numEntries; i++ {
		table[i] = &Entry{Key: "entry-" + strconv.Itoa(i), Count: i, Item: items[i%numItems]}
	}
	for i := 0; i < numNodes; i++ {
		list = &Node{Val: i, Next: list}
	}
	for i := 0; i < numBigs; i++ {
		b := make([]byte, bigSize)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i + 1)
		}
		bigs = append(bigs, b)
	}
	leakRoot = make(map[string]map[int]*Leak)
	for o := 0; o < leakOuter; o++ {
		inner := make(map[int]*Leak)
		for i := 0; i < leakInner; i++ {
			inner[i] = &Leak{ID: o*leakInner + i, Tag: "leak"}
		}
		leakRoot["outer-"+strconv.Itoa(o)] = inner
	}
	for i := 0; i < numCircles; i++ {
		shapes = append(shapes, &Circle{R: float64(i), Name: "circle"})
	}
}

//go:noinline
func makeGarbage(i int) uintptr {
	g := &Garbage{ID: i}
	g.Ptr = g
	return uintptr(unsafe.Pointer(g))
}

// holder keeps its objects on its own stack only, parked until the process dies: a slice whose
// backing array is on the heap (its length is not a constant), and an array of pointers that is a
// stack object (its address is taken, and it does not escape).
//
//go:noinline
func holder(n int, ready chan<- uint64, done <-chan struct{}) {
	objs := make([]*StackOnly, n)
	for i := range objs {
		objs[i] = &StackOnly{ID: i}
		objs[i].Self = objs[i]
	}
	var local [numStackLocal]*StackLocal
	fillLocal(&local)
	ready <- addr(objs[0])
	ready <- addr(local[3])
	<-done
	runtime.KeepAlive(objs)
	runtime.KeepAlive(&local)
}

//go:noinline
func fillLocal(p *[numStackLocal]*StackLocal) {
	for i := range p {
		p[i] = &StackLocal{ID: i}
	}
}

//go:noinline
func worker(ready chan<- uint64, work <-chan int) {
	ready <- 0
	for range work {
	}
}

func profile(name string) {
	var buf bytes.Buffer
	var err error
	if name == "heap" {
		err = pprof.WriteHeapProfile(&buf)
	} else {
		err = pprof.Lookup(name).WriteTo(&buf, 0)
	}
	if err != nil {
		panic(err)
	}
	fmt.Printf("HEAPPROG-PROFILE %s %s\n", name, base64.StdEncoding.EncodeToString(buf.Bytes()))
}

var ms1, ms2 runtime.MemStats
var line = make([]byte, 0, 512)

// printMemStats writes the counters without allocating (strconv.Append* into a buffer made
// beforehand, and a raw write(2)).
func printMemStats(ms *runtime.MemStats) {
	line = append(line[:0], "HEAPPROG-MEMSTATS {\"HeapObjects\":"...)
	line = strconv.AppendUint(line, ms.HeapObjects, 10)
	line = append(line, ",\"HeapAlloc\":"...)
	line = strconv.AppendUint(line, ms.HeapAlloc, 10)
	line = append(line, ",\"Mallocs\":"...)
	line = strconv.AppendUint(line, ms.Mallocs, 10)
	line = append(line, ",\"Frees\":"...)
	line = strconv.AppendUint(line, ms.Frees, 10)
	line = append(line, ",\"NumGC\":"...)
	line = strconv.AppendUint(line, uint64(ms.NumGC), 10)
	line = append(line, "}\n"...)
	syscall.Write(1, line)
}

// crash dies of SIGABRT without allocating (a panic may: Go 1.21's gopanic allocates a _defer
// record for open-coded defers), so that the heap in the core is the one MemStats described.
//
//go:noinline
func crash() {
	syscall.Kill(syscall.Getpid(), syscall.SIGABRT)
	for {
	}
}

func main() {
	runtime.MemProfileRate = 4096
	if len(os.Args) < 2 || os.Args[1] != "heap" {
		fmt.Fprintln(os.Stderr, "usage: heapprog heap")
		os.Exit(2)
	}
	build()

	ready := make(chan uint64)
	done := make(chan struct{})
	var stackOnly uint64
	ctx := pprof.WithLabels(context.Background(), pprof.Labels("role", "holder"))
	pprof.SetGoroutineLabels(ctx)
	go holder(numStackOnly, ready, done)
	pprof.SetGoroutineLabels(context.Background())
	stackOnly = <-ready
	stackLocal := <-ready
	work := make(chan int)
	for i := 0; i < numWorkers; i++ {
		go worker(ready, work)
		<-ready
	}

	debug.SetGCPercent(-1) // no collection from here on: the profiles stay as written
	runtime.GC()
	for i := range garbageAddrs {
		garbageAddrs[i] = makeGarbage(i)
	}

	profile("heap")
	profile("goroutine")

	var garbage []uint64
	for _, a := range garbageAddrs {
		garbage = append(garbage, uint64(a))
	}
	var bigAddrs []uint64
	for _, b := range bigs {
		bigAddrs = append(bigAddrs, addr(&b[0]))
	}
	var someLeak *Leak
	for _, inner := range leakRoot {
		someLeak = inner[7]
		break
	}
	info := map[string]any{
		"pid":      os.Getpid(),
		"scenario": "heap",
		"counts": map[string]int{
			"main.Item": numItems, "main.Entry": numEntries, "main.Node": numNodes,
			"main.Leak": leakOuter * leakInner, "main.StackOnly": numStackOnly,
			"main.Garbage": numGarbage, "main.Circle": numCircles, "main.StackLocal": numStackLocal,
		},
		"sizes": map[string]uintptr{
			"main.Item": unsafe.Sizeof(Item{}), "main.Entry": unsafe.Sizeof(Entry{}),
			"main.Node": unsafe.Sizeof(Node{}), "main.Leak": unsafe.Sizeof(Leak{}),
			"main.StackOnly": unsafe.Sizeof(StackOnly{}), "main.Garbage": unsafe.Sizeof(Garbage{}),
			"main.Circle": unsafe.Sizeof(Circle{}), "main.StackLocal": unsafe.Sizeof(StackLocal{}),
		},
		"addrs": map[string]any{
			"item0": addr(items[0]), "item_last": addr(items[numItems-1]), "entry": addr(table[4242]),
			"node_tail": addr(list.Next.Next), "leak": addr(someLeak), "stack_only": stackOnly,
			"stack_local": stackLocal,
			"circle":      addr(shapes[3].(*Circle)), "garbage": garbage, "bigs": bigAddrs,
		},
		"globals": map[string]uint64{
			"main.items": addr(&items), "main.table": addr(&table), "main.list": addr(&list),
			"main.bigs": addr(&bigs), "main.leakRoot": addr(&leakRoot), "main.shapes": addr(&shapes),
		},
		"big_size": bigSize,
	}
	data, err := json.Marshal(info)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))

	runtime.ReadMemStats(&ms1)
	printMemStats(&ms1)
	runtime.ReadMemStats(&ms2)
	printMemStats(&ms2)
	crash()
}
