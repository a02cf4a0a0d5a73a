// Command dwarfprog is the DWARF test program of gocore-tui.
//
// It declares the shapes the DWARF index must describe (embedded fields, a self-referencing struct,
// maps, channels, slices, interfaces, generics, globals, constants, an inlined call with arguments)
// and prints, as JSON, what the compiler itself says about them: sizes and field offsets from
// unsafe.Sizeof/Offsetof, and constant values. tests/test_dwarf.py compares the DWARF index with it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"unsafe"
)

type Color int

const (
	Red Color = iota
	Green
	Blue
)

const (
	Answer            = 42
	NegBig     int64  = -1234567890123
	MaxU8      uint8  = 255
	HugeU64    uint64 = 1<<63 + 5
	unexported int32  = -7
)

type Base struct {
	ID   int64
	Name string
}

type Inner struct {
	A uint8
	B uint32
	C [3]uint16
}

type Shape interface {
	Area() float64
}

type Square struct{ Side float64 }

func (s Square) Area() float64 { return s.Side * s.Side }

type Request struct {
	Base
	*Inner
	Method  string
	Headers map[string][]string
	Body    []byte
	Done    chan struct{}
	Err     error
	Any     any
	Shape   Shape
	Nested  struct {
		X, Y int32
		In   Inner
	}
	Next  *Request
	Flag  bool
	Score float64
	Cplx  complex128
	Fn    func(int) int
	Raw   unsafe.Pointer
	Arr   [4]Inner
	Color Color
}

type Node struct {
	Val  int
	Next *Node
	Kids []*Node
}

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

type Config struct {
	Name    string
	Retries int
	Limits  map[string]int
	Queue   chan int
}

var (
	config          = &Config{Name: "cfg", Retries: 3, Limits: map[string]int{"x": 1}, Queue: make(chan int, 4)}
	counter  uint64 = 7
	table           = map[string]int{"a": 1, "b": 2}
	requests []*Request
	root     Node
	pair           = Pair[string, int]{Key: "k", Val: 9}
	shape    Shape = Square{Side: 2}
	names          = [3]string{"x", "y", "z"}
)

// scale is small enough to be inlined into process in optimized builds.
func scale(x, factor int) int {
	y := x*factor + 1
	return y
}

//go:noinline
func process(req *Request, n int) (total int, err error) {
	local := n * 2
	for i := 0; i < n; i++ {
		total += scale(i, local)
	}
	if req.Next != nil {
		s := req.Next.Method
		total += len(s)
	}
	if total < 0 {
		err = fmt.Errorf("negative %d", total)
	}
	return total, err
}

//go:noinline
func Sum[T int | float64](xs []T) T {
	var acc T
	for _, x := range xs {
		acc += x
	}
	return acc
}

type fieldInfo struct {
	Size    uintptr            `json:"size"`
	Offsets map[string]uintptr `json:"offsets"`
}

func main() {
	var r Request
	var n Node
	var p Pair[string, int]
	var c Config
	var in Inner
	out := map[string]any{
		"types": map[string]fieldInfo{
			"main.Request": {unsafe.Sizeof(r), map[string]uintptr{
				"Base": unsafe.Offsetof(r.Base), "Inner": unsafe.Offsetof(r.Inner),
				"Method": unsafe.Offsetof(r.Method), "Headers": unsafe.Offsetof(r.Headers),
				"Body": unsafe.Offsetof(r.Body), "Done": unsafe.Offsetof(r.Done),
				"Err": unsafe.Offsetof(r.Err), "Any": unsafe.Offsetof(r.Any),
				"Shape": unsafe.Offsetof(r.Shape), "Nested": unsafe.Offsetof(r.Nested),
				"Nested.Y":    unsafe.Offsetof(r.Nested) + unsafe.Offsetof(r.Nested.Y),
				"Nested.In.B": unsafe.Offsetof(r.Nested) + unsafe.Offsetof(r.Nested.In) + unsafe.Offsetof(r.Nested.In.B),
				"Next":        unsafe.Offsetof(r.Next), "Flag": unsafe.Offsetof(r.Flag),
				"Score": unsafe.Offsetof(r.Score), "Cplx": unsafe.Offsetof(r.Cplx),
				"Fn": unsafe.Offsetof(r.Fn), "Raw": unsafe.Offsetof(r.Raw),
				"Arr": unsafe.Offsetof(r.Arr), "Color": unsafe.Offsetof(r.Color),
				"Base.Name": unsafe.Offsetof(r.Base) + unsafe.Offsetof(r.Base.Name),
			}},
			"main.Node": {unsafe.Sizeof(n), map[string]uintptr{
				"Val": unsafe.Offsetof(n.Val), "Next": unsafe.Offsetof(n.Next), "Kids": unsafe.Offsetof(n.Kids),
			}},
			"main.Pair[string,int]": {unsafe.Sizeof(p), map[string]uintptr{
				"Key": unsafe.Offsetof(p.Key), "Val": unsafe.Offsetof(p.Val),
			}},
			"main.Config": {unsafe.Sizeof(c), map[string]uintptr{
				"Name": unsafe.Offsetof(c.Name), "Retries": unsafe.Offsetof(c.Retries),
				"Limits": unsafe.Offsetof(c.Limits), "Queue": unsafe.Offsetof(c.Queue),
			}},
			"main.Inner": {unsafe.Sizeof(in), map[string]uintptr{
				"A": unsafe.Offsetof(in.A), "B": unsafe.Offsetof(in.B), "C": unsafe.Offsetof(in.C),
			}},
		},
		"constants": map[string]any{
			"main.Red": Red, "main.Green": Green, "main.Blue": Blue, "main.Answer": Answer,
			"main.NegBig": NegBig, "main.MaxU8": MaxU8, "main.HugeU64": fmt.Sprint(uint64(HugeU64)),
			"main.unexported": unexported,
		},
	}
	// Use everything so that the linker keeps the globals and functions.
	r.Next = &Request{Method: "GET"}
	total, err := process(&r, int(counter))
	requests = append(requests, &r)
	root.Kids = append(root.Kids, &n)
	out["values"] = map[string]any{
		"total": total, "err": fmt.Sprint(err), "sumInt": Sum([]int{1, 2, 3}), "sumFloat": Sum([]float64{0.5, 1}),
		"config": config.Name, "table": len(table), "requests": len(requests), "kids": len(root.Kids),
		"pair": pair.Key, "area": shape.Area(), "names": names[1], "queue": cap(config.Queue),
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
