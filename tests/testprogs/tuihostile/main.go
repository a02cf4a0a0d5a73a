// Command tuihostile is the TUI's small hostile-input program: the strings the TUI shows from its
// core (the panic message, a local string, a map key, a struct type's field) hold terminal control
// sequences (OSC 0 retitling, OSC 52 clipboard, CSI screen clear), BEL, C1 controls, bidi overrides
// and Textual markup. (tests/testprogs/hostile is the full corpus program of the CLI's tests.)
//
// Usage: tuihostile panic
//
// Before it panics it prints "CRASHER-READY {json}" with strconv.Quote of each hostile value.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// Evil is every hostile sequence at once.
const Evil = "osc0:\x1b]0;PWNED-TITLE\x07 osc52:\x1b]52;c;aGFja2Vk\x07 csi:\x1b[2J " +
	"c1:\u009b31m rlo:\u202edesrever\u202c markup:[bold red]loud[/] [@click=app.quit]q[/]"

type request struct {
	Header map[string]string
	Body   string
}

//go:noinline
func handle(r *request) {
	evil := r.Body
	header := r.Header
	printReady(map[string]any{"evil": strconv.Quote(evil), "panic": strconv.Quote("hostile " + Evil),
		"key": strconv.Quote("X-\x1b]0;KEY-TITLE\x07")})
	sink = header
	panic("hostile " + Evil)
}

var sink any

func printReady(values map[string]any) {
	data, err := json.Marshal(map[string]any{"pid": os.Getpid(), "scenario": "panic", "values": values})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
}

func main() {
	if len(os.Args) != 2 || os.Args[1] != "panic" {
		fmt.Fprintln(os.Stderr, "usage: tuihostile panic")
		os.Exit(2)
	}
	handle(&request{
		Header: map[string]string{"X-\x1b]0;KEY-TITLE\x07": "v\u202e[/]"},
		Body:   "body " + Evil,
	})
}
