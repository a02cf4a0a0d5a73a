package main

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Request is what the dispatcher hands to a handler goroutine.
type Request struct {
	ID      int
	Method  string
	Path    string
	Body    []byte
	Headers map[string]string
}

const maxBodySize = 32

// Dispatcher starts one goroutine per request, as net/http does per connection.
type Dispatcher struct {
	name    string
	handled int
	results chan string
}

// Dispatch serves req on a new goroutine.
//
//go:noinline
func (d *Dispatcher) Dispatch(req *Request) {
	go d.serve(req)
}

//go:noinline
func (d *Dispatcher) serve(req *Request) {
	waitParked() // let the dispatching goroutine park first: the core shows it waiting
	status := handleRequest(req)
	d.handled++
	d.results <- status
}

//go:noinline
func handleRequest(req *Request) string {
	req.Path = strings.TrimSuffix(req.Path, "/")
	checked := mustBeValid(req)
	return fmt.Sprintf("%d %s %s: ok", checked.ID, checked.Method, checked.Path)
}

// mustBeValid is small enough to be inlined into handleRequest: in optimized builds the traceback
// shows it as the inlined frame "main.mustBeValid(...)".
func mustBeValid(req *Request) *Request {
	validate(req)
	return req
}

//go:noinline
func validate(req *Request) {
	if req.Method != "POST" && req.Method != "PUT" {
		return
	}
	if len(req.Body) > maxBodySize {
		panic(fmt.Sprintf("invalid request %d: %s %s: body too large\n(%d bytes, limit %d, tenant %q)",
			req.ID, req.Method, req.Path, len(req.Body), maxBodySize, req.Headers["X-Tenant"]))
	}
}

func runPanic(args []string) {
	startBackground(true)
	d := &Dispatcher{name: "api", results: make(chan string)}

	// A request that passes, served and finished before the bad one arrives.
	d.Dispatch(&Request{ID: 6, Method: "GET", Path: "/api/orders/", Headers: map[string]string{"X-Tenant": "acme"}})
	<-d.results

	body := []byte("{\"sku\":\"X-1\",\"qty\":3,\"note\":\"\x00\x01\xfe\xff gift wrap please\"}")
	req := &Request{
		ID:      7,
		Method:  "POST",
		Path:    "/api/orders/",
		Body:    body,
		Headers: map[string]string{"X-Tenant": "acme", "Content-Type": "application/json"},
	}
	waitParked()
	printReady("panic", map[string]any{
		"request_id":   req.ID,
		"method":       req.Method,
		"path":         req.Path,
		"body_hex":     hex.EncodeToString(body),
		"body_len":     len(body),
		"headers":      req.Headers,
		"request_addr": fmt.Sprintf("%p", req),
		"message": fmt.Sprintf("invalid request %d: %s %s: body too large\n(%d bytes, limit %d, tenant %q)",
			req.ID, req.Method, strings.TrimSuffix(req.Path, "/"), len(body), maxBodySize, "acme"),
	})
	d.Dispatch(req)
	<-d.results
}
