// Command protobody is the corpus program of gocore-tui's payload tests: an HTTP API handler that
// receives a protobuf request body and crashes holding it. The body is encoded by the Python test
// client with the protobuf package (tests/protos/orders.proto); this program needs no protobuf
// library: it only holds the bytes, as a real service's handler does when it dies.
//
// Usage: protobody order SHA256PREFIX, with the request body on stdin. The program checks that the
// body's sha256 starts with SHA256PREFIX (the test harness keys its cache of cores by it), serves
// HTTP on a loopback port, posts the body to itself, and the handler panics decoding it as JSON; the
// deferred crash handler aborts the process (SIGABRT; with GOTRACEBACK=crash the runtime dumps core)
// while the handler's frame holds:
//
//	body     []byte  the request body as received
//	bodyText string  the same bytes as a string (as a logging middleware keeps them)
//	archived []byte  the body gzip-compressed (as an audit log stores it)
//
// Before crashing it prints "CRASHER-READY {json}" with the pid, the handler's goroutine id, the
// body (hex) and its address, and the archived bytes (hex).
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "order" {
		fmt.Fprintln(os.Stderr, "usage: protobody order SHA256PREFIX < body")
		os.Exit(2)
	}
	body, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(body)
	if prefix := os.Args[2]; hex.EncodeToString(sum[:])[:len(prefix)] != prefix {
		fmt.Fprintf(os.Stderr, "protobody: the body's sha256 does not start with %s\n", prefix)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, &orderAPI{})
	done := make(chan error)
	go post("http://"+ln.Addr().String()+"/v1/orders", body, done)
	err = <-done
	panic(fmt.Sprint("protobody: the client returned ", err))
}

//go:noinline
func post(url string, body []byte, done chan<- error) {
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
	done <- err
}

type orderAPI struct {
	orders int
}

// ServeHTTP keeps the body (and a text and an archived copy, as middleware would) and hands it to
// createOrder, which expects JSON and panics; crashOnPanic then aborts the process.
func (api *orderAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var bodyText string
	var archived []byte
	defer api.crashOnPanic(&body, &bodyText, &archived)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	bodyText = string(body)
	archived = gzipped(body)
	printReady(map[string]any{
		"body_hex":     hex.EncodeToString(body),
		"body_len":     len(body),
		"body_addr":    fmt.Sprintf("%p", &body[0]),
		"archived_hex": hex.EncodeToString(archived),
		"handler_goid": goid(),
	})
	createOrder(body)
	api.orders++
	w.WriteHeader(http.StatusCreated)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

//go:noinline
func createOrder(body []byte) {
	var order map[string]any
	if err := json.Unmarshal(body, &order); err != nil {
		panic(fmt.Errorf("createOrder: %w", err))
	}
}

// crashOnPanic recovers the panic and kills its own thread with SIGABRT, so that the runtime dumps
// every goroutine and the kernel writes a core while the handler's frame is still on the stack.
//
//go:noinline
func (api *orderAPI) crashOnPanic(body *[]byte, bodyText *string, archived *[]byte) {
	r := recover()
	if r == nil {
		return
	}
	runtime.LockOSThread()
	syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), syscall.SIGABRT)
	runtime.KeepAlive(*body)
	runtime.KeepAlive(*bodyText)
	runtime.KeepAlive(*archived)
	runtime.KeepAlive(r)
	select {}
}

// printReady writes the CRASHER-READY line the harness reads (os.Stdout is unbuffered).
func printReady(values map[string]any) {
	data, err := json.Marshal(map[string]any{"pid": os.Getpid(), "scenario": "order", "values": values})
	if err != nil {
		panic(err)
	}
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
