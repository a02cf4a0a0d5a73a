// Command values is the value-decoding test program of gocore-tui.
//
// Usage: values SCENARIO (the only scenario is "values").
//
// holdValues declares one local of every kind of Go value a debugger must decode (integers,
// floats, complex numbers, strings, slices, arrays, structs with embedded fields, pointers with a
// cycle, maps small, large, growing and nil, interfaces, errors, channels with queued elements, func
// values, generic types, unsafe.Pointer and named types), prints them as JSON on one line
// "CRASHER-READY {json}" and panics, so that its frame is in the core. tests/test_values.py
// compares what gocore-tui reads from the core with that JSON.
//
// JSON conventions (what the test reduces a value tree to): []byte and [N]byte as hex strings,
// nil slices, maps, pointers, interfaces, channels and funcs as null, map keys as strings, complex
// numbers as {"real","imag"}, channels as {"len","cap","elements"}, funcs as the function's name,
// errors as {"type","error"}, unsafe.Pointer as an integer, a pointer as its target.
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"unsafe"
)

type Color int

type Celsius float64

type Names []string

type Lookup map[string]int

type Handler func(int) int

type Base struct {
	ID    int64
	Label string
}

type Inner struct {
	A uint8
	B uint32
}

type Outer struct {
	Base
	*Inner
	Name  string
	Tags  []string
	Score float64
}

type Node struct {
	Name string
	Next *Node
}

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

type Box[T any] struct {
	Items []T
	Count int
}

type MyErr struct {
	Code int
	Msg  string
}

func (e *MyErr) Error() string { return fmt.Sprintf("code %d: %s", e.Code, e.Msg) }

type Big struct {
	Data [20]int64 // 160 bytes: map elements of this type are stored indirectly
}

type Temp struct{ C Celsius }

func (t Temp) String() string { return fmt.Sprintf("%.1fC", float64(t.C)) }

type Stringer interface{ String() string }

type Config struct {
	Name   string
	Port   int
	Tags   []string
	Limits map[string]int
}

var config = Config{Name: "svc", Port: 8080, Tags: []string{"alpha", "beta"}, Limits: map[string]int{"cpu": 4, "mem": 512}}

var globalMap = map[string]int{"one": 1, "two": 2, "three": 3}

var globalBytes = []byte("global\x00\x01\x02\xfe\xffbytes")

var globalCounter int64 = -98765

func double(x int) int { return 2 * x }

// classicHmap is the head of runtime.hmap, the map header of Go 1.21-1.23.
type classicHmap struct {
	count      int
	flags      uint8
	B          uint8
	noverflow  uint16
	hash0      uint32
	buckets    unsafe.Pointer
	oldbuckets unsafe.Pointer
}

// growingMap returns a map caught in the middle of growing where maps grow incrementally (the
// classic maps of Go <= 1.23: the insert that crosses the load factor allocates twice the buckets
// and evacuates only one or two of the old ones), and a map of 53 entries otherwise.
func growingMap() map[int]int {
	var minor int
	fmt.Sscanf(runtime.Version(), "go1.%d", &minor)
	m := make(map[int]int)
	for i := 0; i < 1000; i++ {
		m[i] = i * i
		if minor <= 23 && (*(**classicHmap)(unsafe.Pointer(&m))).oldbuckets != nil && i >= 40 {
			break
		}
		if minor > 23 && i == 52 {
			break
		}
	}
	return m
}

func nilChan(c chan int) any {
	if c == nil {
		return nil
	}
	return len(c)
}

func funcName(f any) any {
	v := reflect.ValueOf(f)
	if v.IsNil() {
		return nil
	}
	return runtime.FuncForPC(v.Pointer()).Name()
}

func cplx(c complex128) map[string]float64 {
	return map[string]float64{"real": real(c), "imag": imag(c)}
}

func errJSON(e error) any {
	if e == nil {
		return nil
	}
	return map[string]string{"type": reflect.TypeOf(e).String(), "error": e.Error()}
}

func printReady(values map[string]any) {
	line := map[string]any{"pid": os.Getpid(), "scenario": "values", "values": values}
	data, err := json.Marshal(line)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
}

//go:noinline
func crash(code int, reason string, payload []byte) {
	checkCode(code, reason)
	runtime.KeepAlive(payload)
}

// checkCode is inlined into crash in optimized builds: the panic starts in an inlined frame.
func checkCode(code int, reason string) {
	if code != 0 {
		panic(reason)
	}
}

// genericHold is a generic function on the crashing stack: its v has a shape type that only the
// dictionary resolves.
//
//go:noinline
func genericHold[T any](v T, then func(T)) {
	then(v)
}

//go:noinline
func holdValues(shared map[string]any) {
	vBool := true
	vInt := -42
	vInt8 := int8(-8)
	vInt16 := int16(-1600)
	vInt32 := int32(-320000)
	vInt64 := int64(-1 << 40)
	vUint := uint(42)
	vUint8 := uint8(200)
	vUint16 := uint16(60000)
	vUint32 := uint32(4000000000)
	vUint64 := uint64(1<<63 + 7)
	vUintptr := uintptr(0xdeadbeef)
	vFloat32 := float32(1.1)
	vFloat64 := -2.5e-3
	vComplex64 := complex64(complex(1.5, -2))
	vComplex128 := complex(3.25, 4.5)
	vString := "héllo, wörld ✓"
	vEmptyString := ""
	vBadUTF8 := "ok\xff\xfe\\x41" // invalid UTF-8, then a real backslash
	vBytes := []byte{0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 'o', 'k', '\n'}
	var vNilBytes []byte
	vInts := make([]int, 3, 10)
	vInts[0], vInts[1], vInts[2] = 10, -20, 30
	var vNilSlice []int
	vEmptySlice := []string{}
	vStrings := []string{"a", "bb", "ccc"}
	vArray := [4]int32{1, -2, 3, -4}
	vByteArray := [6]byte{'r', 'a', 'w', 0, 1, 2}
	vInner := &Inner{A: 7, B: 70000}
	vStruct := Outer{Base: Base{ID: 99, Label: "base"}, Inner: vInner, Name: "outer", Tags: []string{"x", "y"}, Score: 0.5}
	var vNilPtr *Inner
	vLoop := &Node{Name: "loop"}
	vLoop.Next = vLoop
	vChain := &Node{Name: "first", Next: &Node{Name: "second"}}
	vSmallMap := map[string]int{"a": 1, "b": 2, "c": 3}
	vBigMap := make(map[int]string)
	for i := 0; i < 100; i++ {
		vBigMap[i*7] = fmt.Sprintf("v%d", i)
	}
	vHugeMap := make(map[int]int)
	for i := 0; i < 3000; i++ {
		vHugeMap[i] = i * 3
	}
	vGrowing := growingMap()
	vMapOfSlices := map[string][]int{"odd": {1, 3, 5}, "even": {2, 4}, "none": nil}
	var vNilMap map[string]int
	vEmptyMap := map[string]bool{}
	vMapBigVal := map[int]Big{1: {Data: [20]int64{1, 2, 3}}, 2: {Data: [20]int64{19: 42}}}
	vMapPtrVal := map[string]*Inner{"p": {A: 1, B: 2}, "nil": nil}
	var vAnyInt any = 1234567
	var vAnyStr any = "boxed"
	var vAnyPtr any = &Inner{A: 3, B: 33}
	var vAnyStruct any = Temp{C: 36.6}
	var vAnyMap any = map[string]int{"k": 1}
	var vStringer Stringer = Temp{C: -5}
	vErr := errors.New("boom")
	var vMyErr error = &MyErr{Code: 503, Msg: "unavailable"}
	var vNilErr error
	var vNilAny any
	vChan := make(chan int, 4)
	vChan <- 1
	vChan <- 2
	vChan <- 3
	<-vChan
	<-vChan
	vChan <- 4
	vChan <- 5
	vChan <- 6 // the queue wraps around the end of the buffer: 3 4 5 6
	vChanStr := make(chan string, 3)
	vChanStr <- "queued"
	var vNilChan chan int
	vFunc := double
	captured := 5
	vClosure := func() int { return captured + 1 }
	var vNilFunc func()
	vPair := Pair[string, int]{Key: "answer", Val: 42}
	vBox := Box[float64]{Items: []float64{0.25, 0.5}, Count: 2}
	target := new(int64) // on the heap: a stack address could move when the stack grows
	*target = 77
	vUnsafe := unsafe.Pointer(target)
	vColor := Color(2)
	vCelsius := Celsius(21.5)
	vNames := Names{"ann", "bob"}
	vLookup := Lookup{"x": 10}
	vHandler := Handler(double)
	vStructKeyMap := map[Inner]string{{A: 1, B: 2}: "one-two", {A: 3, B: 4}: "three-four"}
	keyInner := Inner{A: 3, B: 4}
	vArrayKeyMap := map[[2]int]int{{1, 2}: 3, {5, 6}: 11}
	keyArr := [2]int{5, 6}
	vIfaceKeyMap := map[any]string{1: "int one", "s": "string s", Inner{A: 1}: "struct key"}
	keyIface := Inner{A: 1}
	zero := 0

	bigMap := map[string]string{}
	for k, v := range vBigMap {
		bigMap[fmt.Sprint(k)] = v
	}
	hugeMap := map[string]int{}
	for k, v := range vHugeMap {
		hugeMap[fmt.Sprint(k)] = v
	}
	growing := map[string]int{}
	for k, v := range vGrowing {
		growing[fmt.Sprint(k)] = v
	}
	values := map[string]any{
		"vBool": vBool, "vInt": vInt, "vInt8": vInt8, "vInt16": vInt16, "vInt32": vInt32, "vInt64": vInt64,
		"vUint": vUint, "vUint8": vUint8, "vUint16": vUint16, "vUint32": vUint32, "vUint64": vUint64,
		"vUintptr": vUintptr, "vFloat32": vFloat32, "vFloat64": vFloat64,
		"vComplex64": cplx(complex128(vComplex64)), "vComplex128": cplx(vComplex128),
		"vString": vString, "vEmptyString": vEmptyString, "vBadUTF8": hex.EncodeToString([]byte(vBadUTF8)),
		"vBytes": hex.EncodeToString(vBytes), "vNilBytes": vNilBytes,
		"vInts": vInts, "vNilSlice": vNilSlice, "vEmptySlice": vEmptySlice, "vStrings": vStrings,
		"vArray": vArray, "vByteArray": hex.EncodeToString(vByteArray[:]),
		"vInner": vInner, "vStruct": vStruct, "vNilPtr": vNilPtr,
		"vLoop":     map[string]any{"Name": vLoop.Name, "self": vLoop.Next == vLoop},
		"vChain":    vChain,
		"vSmallMap": vSmallMap, "vBigMap": bigMap, "vHugeMap": hugeMap, "vGrowing": growing,
		"vMapOfSlices": vMapOfSlices, "vNilMap": vNilMap, "vEmptyMap": vEmptyMap,
		"vMapBigVal": vMapBigVal, "vMapPtrVal": vMapPtrVal,
		"vAnyInt": vAnyInt, "vAnyStr": vAnyStr, "vAnyPtr": vAnyPtr, "vAnyStruct": vAnyStruct, "vAnyMap": vAnyMap,
		"vStringer": vStringer,
		"vErr":      errJSON(vErr), "vMyErr": errJSON(vMyErr), "vNilErr": errJSON(vNilErr), "vNilAny": vNilAny,
		"vChan":    map[string]any{"len": len(vChan), "cap": cap(vChan), "elements": []int{3, 4, 5, 6}},
		"vChanStr": map[string]any{"len": len(vChanStr), "cap": cap(vChanStr), "elements": []string{"queued"}},
		"vNilChan": nilChan(vNilChan),
		"vFunc":    funcName(vFunc), "vClosure": funcName(vClosure), "vNilFunc": funcName(vNilFunc),
		"vPair": vPair, "vBox": vBox,
		"vUnsafe": uintptr(vUnsafe),
		"vColor":  vColor, "vCelsius": vCelsius, "vNames": vNames, "vLookup": vLookup,
		"vHandler": funcName(vHandler),
		"captured": captured,
		"target":   target,
	}
	for k, v := range shared {
		values[k] = v
	}
	values["config"] = config
	values["globalMap"] = globalMap
	values["globalBytes"] = hex.EncodeToString(globalBytes)
	values["globalCounter"] = globalCounter
	values["crash.code"] = 3
	values["crash.reason"] = "values: crash with every kind of value on the stack"
	values["crash.payload"] = hex.EncodeToString(vBytes)
	values["expressions"] = expressions(vInt, vInt8, vInt16, vInt32, vInt64, vUint8, vUint16, vUint32, vUint64,
		vFloat32, vFloat64, vBool, vString, vBytes, vByteArray, vInts, vStrings, vArray, vInner, vStruct, vChain,
		vLoop, vNilPtr, vSmallMap, vChan, vNilMap, vAnyInt, vAnyStr, vAnyPtr, vAnyStruct, vStringer, vMyErr,
		vUnsafe, target, vStructKeyMap, keyInner, vArrayKeyMap, keyArr, vIfaceKeyMap, keyIface)
	values["addresses"] = map[string]any{
		"&vInner.B": uintptr(unsafe.Pointer(&vInner.B)),
		"&vInts[2]": uintptr(unsafe.Pointer(&vInts[2])),
		"&globalBytes[3]": uintptr(unsafe.Pointer(&globalBytes[3])),
	}
	values["panics"] = panics(vAnyInt, vInts, vNilPtr, zero)
	printReady(values)
	crash(3, "values: crash with every kind of value on the stack", vBytes)
	runtime.KeepAlive(vLoop)
	runtime.KeepAlive(vChan)
	runtime.KeepAlive(vUnsafe)
	runtime.KeepAlive(vStructKeyMap)
	runtime.KeepAlive(vArrayKeyMap)
	runtime.KeepAlive(vIfaceKeyMap)
	runtime.KeepAlive(&keyInner)
	runtime.KeepAlive(&keyArr)
	runtime.KeepAlive(&keyIface)
	runtime.KeepAlive(&zero)
}

// expressions computes, in Go, the value of each expression tests/test_expr.py evaluates on the core
// (keys are the expressions as gocore-tui reads them: delve's syntax, which looks through pointers
// and interfaces; values follow the JSON conventions of the package comment).
func expressions(vInt int, vInt8 int8, vInt16 int16, vInt32 int32, vInt64 int64, vUint8 uint8, vUint16 uint16,
	vUint32 uint32, vUint64 uint64, vFloat32 float32, vFloat64 float64, vBool bool, vString string, vBytes []byte,
	vByteArray [6]byte, vInts []int, vStrings []string, vArray [4]int32, vInner *Inner, vStruct Outer,
	vChain, vLoop *Node, vNilPtr *Inner, vSmallMap map[string]int, vChan chan int, vNilMap map[string]int,
	vAnyInt, vAnyStr, vAnyPtr, vAnyStruct any, vStringer Stringer, vMyErr error, vUnsafe unsafe.Pointer,
	target *int64, vStructKeyMap map[Inner]string, keyInner Inner, vArrayKeyMap map[[2]int]int, keyArr [2]int,
	vIfaceKeyMap map[any]string, keyIface Inner) map[string]any {
	inner := uintptr(unsafe.Pointer(vInner))
	tgt := uintptr(unsafe.Pointer(target))
	gb := uintptr(unsafe.Pointer(&globalBytes[0]))
	out := map[string]any{
		// selectors, indexes, slices (delve looks through pointers and interfaces)
		"vStruct.Name": vStruct.Name, "vStruct.ID": vStruct.ID, "vStruct.Label": vStruct.Label,
		"vStruct.Base.Label": vStruct.Base.Label, "vStruct.A": vStruct.A, "vStruct.Inner.B": vStruct.Inner.B,
		"vStruct.Tags[1]": vStruct.Tags[1], "(vStruct).Tags[0]": (vStruct).Tags[0],
		"vInner.B": vInner.B, "(*vInner).A": (*vInner).A, "*vInner": *vInner,
		"vChain.Next.Name": vChain.Next.Name, "vLoop.Next.Next.Name": vLoop.Next.Next.Name,
		"vAnyPtr.A": vAnyPtr.(*Inner).A, "vAnyStruct.C": vAnyStruct.(Temp).C, "vStringer.C": vStringer.(Temp).C,
		"vMyErr.Code": vMyErr.(*MyErr).Code,
		"vInts[1]": vInts[1], "vArray[3]": vArray[3], "vStrings[2]": vStrings[2], "vString[0]": vString[0],
		"vString[8:]": vString[8:], "vString[1:3]": vString[1:3], "vInts[1:3]": vInts[1:3],
		"vInts[:5]": vInts[:5], "vArray[1:]": vArray[1:], "vByteArray[:3]": hex.EncodeToString(vByteArray[:3]),
		"vBytes[7:]": hex.EncodeToString(vBytes[7:]), "vInts[1:2:4]": vInts[1:2:4],
		"vSmallMap[\"b\"]": vSmallMap["b"],
		"main.config.Tags[0]": config.Tags[0], "config.Port": config.Port, "main.globalMap[\"two\"]": globalMap["two"],
		"main.globalBytes[:6]": hex.EncodeToString(globalBytes[:6]),
		"encoding/hex.ErrLength.s": hex.ErrLength.Error(), // a global by its full package path
		// maps with struct, array and interface keys
		"vStructKeyMap[keyInner]": vStructKeyMap[keyInner], "vArrayKeyMap[keyArr]": vArrayKeyMap[keyArr],
		"vIfaceKeyMap[1]": vIfaceKeyMap[1], "vIfaceKeyMap[\"s\"]": vIfaceKeyMap["s"],
		"vIfaceKeyMap[keyIface]": vIfaceKeyMap[keyIface],
		// builtins
		"len(vInts)": len(vInts), "cap(vInts)": cap(vInts), "len(vString)": len(vString),
		"len(vSmallMap)": len(vSmallMap), "len(vChan)": len(vChan), "cap(vChan)": cap(vChan),
		"len(vArray)": len(vArray), "cap(vInts[1:2:4])": cap(vInts[1:2:4]), "len(vNilMap)": len(vNilMap),
		"len(vStruct.Tags) + len(vStrings)": len(vStruct.Tags) + len(vStrings),
		// arithmetic, with Go's wrapping, truncation and float32 rounding
		"vInt * 2 + 1": vInt*2 + 1, "vInt / 5": vInt / 5, "vInt % 5": vInt % 5, "-vInt": -vInt, "^vInt": ^vInt,
		"vUint8 + 100": vUint8 + 100, "vInt8 * 100": vInt8 * 100, "vInt16 &^ 0xff": vInt16 &^ 0xff,
		"vUint16 | 1": vUint16 | 1, "vUint16 ^ 0xffff": vUint16 ^ 0xffff, "vUint32 << 1": vUint32 << 1,
		"vUint64 >> 60": vUint64 >> 60, "vInt64 >> 3": vInt64 >> 3, "vInt32 - 1<<30 - 1<<30": vInt32 - 1<<30 - 1<<30,
		"vFloat64 * 1000": vFloat64 * 1000, "vFloat32 * 3": vFloat32 * 3, "vFloat64 / 3": vFloat64 / 3,
		"(vInt + 2) * (vInt - 2)": (vInt + 2) * (vInt - 2), "vInner.B / 7 % 11": vInner.B / 7 % 11,
		"vArray[0] - vArray[1] * vArray[3]": vArray[0] - vArray[1]*vArray[3],
		// comparison and logic
		"vInt < 0 && vBool": vInt < 0 && vBool, "vInt == -42": vInt == -42, "!vBool": !vBool,
		"vString == \"héllo, wörld ✓\"": vString == "héllo, wörld ✓", "vStrings[1] < vStrings[2]": vStrings[1] < vStrings[2],
		"len(vStrings) == 3 || false": len(vStrings) == 3 || false, "vUint64 > 1<<62": vUint64 > 1<<62,
		"vFloat64 < 0": vFloat64 < 0, "vInner.A == 7 && vInner.B != 0": vInner.A == 7 && vInner.B != 0,
		"vNilPtr == nil": vNilPtr == nil, "vChain != nil": vChain != nil, "vNilMap == nil": vNilMap == nil,
		"vInt >= -42 && vInt <= -42": vInt >= -42 && vInt <= -42,
		// conversions
		"int64(vInt32) * 2": int64(vInt32) * 2, "uint8(vInt)": uint8(vInt), "int8(vUint8)": int8(vUint8),
		"float64(vInt) / 8": float64(vInt) / 8, "int(vFloat64 * 1000)": int(vFloat64 * 1000),
		"float32(vFloat64)": float32(vFloat64), "[]byte(vString)": hex.EncodeToString([]byte(vString)),
		"string(vBytes[7:9])": string(vBytes[7:9]), "string(vByteArray[:3])": string(vByteArray[:3]),
		"uintptr(vUnsafe)": uintptr(vUnsafe), "Color(3)": Color(3), "main.Celsius(vFloat64) * 2": Celsius(vFloat64) * 2,
		"uint16(vInt32)": uint16(vInt32), "int32(vUint64)": int32(vUint64),
		// casts of addresses the program knows
		fmt.Sprintf("*(*main.Inner)(%#x)", inner): *(*Inner)(unsafe.Pointer(inner)),
		fmt.Sprintf("(*main.Inner)(%#x).B", inner): (*Inner)(unsafe.Pointer(inner)).B,
		fmt.Sprintf("*(*int64)(%#x)", tgt): *(*int64)(unsafe.Pointer(tgt)),
		fmt.Sprintf("*(*[4]byte)(%#x)", tgt): hex.EncodeToString((*(*[4]byte)(unsafe.Pointer(tgt)))[:]),
		fmt.Sprintf("*(*[6]byte)(%d)", gb): hex.EncodeToString((*(*[6]byte)(unsafe.Pointer(gb)))[:]),
		fmt.Sprintf("(*[16]byte)(%#x)[6:9]", gb): hex.EncodeToString((*[16]byte)(unsafe.Pointer(gb))[6:9]),
		// addresses and type assertions
		"*&vInner.B": *&vInner.B, "&vInner.B": vInner.B, "*&vStruct": vStruct,
		"vAnyInt.(int)": vAnyInt.(int), "vAnyStr.(string)": vAnyStr.(string),
		"vAnyPtr.(*Inner).A": vAnyPtr.(*Inner).A, "vAnyPtr.(*main.Inner).B": vAnyPtr.(*Inner).B,
		"vAnyStruct.(Temp).C": vAnyStruct.(Temp).C, "vStringer.(main.Temp).C": vStringer.(Temp).C,
		"vMyErr.(*main.MyErr).Code + 1": vMyErr.(*MyErr).Code + 1,
	}
	return out
}

// panics gives, for expressions that fail, the message Go's runtime panics with when it evaluates
// them: gocore-tui's error must say the same.
func panics(vAnyInt any, vInts []int, vNilPtr *Inner, zero int) map[string]string {
	out := map[string]string{}
	try := func(expr string, f func()) {
		defer func() {
			if r := recover(); r != nil {
				out[expr] = fmt.Sprint(r)
			}
		}()
		f()
	}
	hi := 20
	try("vAnyInt.(string)", func() { _ = vAnyInt.(string) })
	try("vInts[5]", func() { _ = vInts[5] })
	try("vInts[1:20]", func() { _ = vInts[1:hi] })
	try("vInts[3:2]", func() { lo := 3; _ = vInts[lo:2] })
	try("vInt / zero", func() { _ = 5 / zero })
	try("vNilPtr.A", func() { _ = vNilPtr.A })
	return out
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "values" {
		fmt.Fprintln(os.Stderr, "usage: values values")
		os.Exit(2)
	}
	genericHold(Inner{A: 9, B: 900}, func(in Inner) {
		genericHold(int64(777), func(n int64) {
			holdValues(map[string]any{"generic.inner": in, "generic.int": n})
		})
	})
}
