// bigheap makes a core with a big live heap for the heap benchmarks: about 5 million objects in
// about 1 GiB at the default scale (scale 100), shaped like a service's state: records in a map
// (each with a name string, a slice of tags and a link to another record), items in a slice, byte
// buffers, a linked list, values behind interfaces. Then it panics.
//
//	bigheap crash SCALE
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

type Record struct {
	ID    int64
	Name  string
	Tags  []string
	Next  *Record
	Value any
	Data  [6]int64
}

type Item struct {
	ID    int64
	Owner *Record
	Score float64
	Note  string
}

type Node struct {
	Val  int64
	Next *Node
	Pad  [2]int64
}

type Point struct{ X, Y float64 }

var (
	records map[int64]*Record
	items   []*Item
	buffers [][]byte
	list    *Node
)

func build(scale int) {
	nrec := 10000 * scale
	records = make(map[int64]*Record, nrec)
	var prev *Record
	for i := 0; i < nrec; i++ {
		r := &Record{ID: int64(i), Name: "record-" + strconv.Itoa(i), Tags: []string{"a", "b"}, Next: prev}
		if i%4 == 0 {
			r.Value = &Point{X: float64(i)}
		}
		records[int64(i)] = r
		prev = r
	}
	items = make([]*Item, 10000*scale)
	for i := range items {
		items[i] = &Item{ID: int64(i), Owner: records[int64(i%nrec)]}
	}
	buffers = make([][]byte, 7000*scale)
	for i := range buffers {
		b := make([]byte, 1000)
		b[0] = byte(i) | 1
		buffers[i] = b
	}
	for i := 0; i < 2000*scale; i++ {
		list = &Node{Val: int64(i), Next: list}
	}
}

//go:noinline
func crash(scale int) {
	panic(fmt.Sprintf("bigheap: scale %d", scale))
}

func main() {
	if len(os.Args) < 3 || os.Args[1] != "crash" {
		fmt.Fprintln(os.Stderr, "usage: bigheap crash SCALE")
		os.Exit(2)
	}
	scale, _ := strconv.Atoi(os.Args[2])
	build(scale)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	info, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "scenario": "crash", "scale": scale,
		"heap_objects": ms.HeapObjects, "heap_alloc": ms.HeapAlloc})
	fmt.Printf("CRASHER-READY %s\n", info)
	crash(scale)
}
