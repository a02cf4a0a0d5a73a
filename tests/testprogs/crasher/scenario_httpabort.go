package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"syscall"
)

// orderBody is the fixed request body: a binary order record with a header, nonprintable bytes and
// some text. Its version byte is '9', which decodeOrder rejects.
func orderBody() []byte {
	b := make([]byte, 0, 64)
	b = append(b, 'O', 'R', 'D', '9')                      // magic + version
	b = binary.LittleEndian.AppendUint32(b, 0xdeadbeef)    // checksum
	b = binary.LittleEndian.AppendUint64(b, 1234567890123) // order id
	b = append(b, 0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, '\n')
	b = append(b, "customer=alice;sku=X-1;qty=3;"...)
	for len(b) < 64 {
		b = append(b, byte(len(b)))
	}
	return b
}

type orderServer struct {
	handled int
	ready   map[string]any
}

// ServeHTTP reads the whole body and hands it to processOrder, which panics; the deferred
// crashOnPanic then aborts the process, as crash-reporting middleware in production does.
func (s *orderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	defer s.crashOnPanic(&body)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.ready["body_hex"] = hex.EncodeToString(body)
	s.ready["body_len"] = len(body)
	s.ready["handler_goid"] = goid()
	s.ready["body_addr"] = fmt.Sprintf("%p", &body[0])
	waitParked()
	printReady("httpabort", s.ready)
	id := processOrder(body)
	s.handled++
	fmt.Fprintf(w, "order %d accepted\n", id)
}

// crashOnPanic recovers the panic and kills its own thread with SIGABRT, so that the runtime dumps
// every goroutine and the kernel writes a core while the handler's frames are still on the stack.
//
//go:noinline
func (s *orderServer) crashOnPanic(body *[]byte) {
	r := recover()
	if r == nil {
		return
	}
	runtime.LockOSThread()
	syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), syscall.SIGABRT)
	runtime.KeepAlive(*body)
	runtime.KeepAlive(r)
	select {}
}

//go:noinline
func processOrder(body []byte) uint64 {
	id := decodeOrder(body)
	return id
}

//go:noinline
func decodeOrder(b []byte) uint64 {
	if len(b) < 16 || !bytes.Equal(b[:3], []byte("ORD")) {
		panic("decodeOrder: not an order record")
	}
	mustVersion(b)
	return binary.LittleEndian.Uint64(b[8:16])
}

var errUnsupportedVersion = errors.New("processOrder: unsupported order record version")

// mustVersion is inlined into decodeOrder in optimized builds; the panic starts in it. (Keep it
// cheap: a fmt.Errorf here pushes it over the inlining budget of some releases.)
func mustVersion(b []byte) {
	if b[3] != '1' {
		panic(errUnsupportedVersion)
	}
}

//go:noinline
func postOrder(url string, body []byte, done chan<- error) {
	resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
	done <- err
}

func runHTTPAbort(args []string) {
	startBackground(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := &orderServer{ready: map[string]any{"addr": ln.Addr().String()}}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)

	body := orderBody()
	done := make(chan error)
	go postOrder("http://"+ln.Addr().String()+"/orders", body, done)
	err = <-done
	panic(fmt.Sprint("httpabort: client returned ", err))
}
