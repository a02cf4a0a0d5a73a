// Command hostile is gocore-tui's hostile-input test program: every string a debugger shows from its
// core holds what an attacker would put there. Its panic message, globals, locals, map keys, struct
// field values, an error, a []byte and the pprof labels of a waiting goroutine carry terminal control
// sequences (OSC 0 retitling, OSC 52 clipboard writes, OSC 8 hyperlinks, CSI screen clears), BEL,
// NUL, DEL, C1 controls (as UTF-8 and as raw bytes), bidi overrides and Rich/Textual markup.
//
// Usage: hostile SCENARIO (the only scenario is "panic").
//
// tests/corpus.py builds it from a copy of this directory placed in a directory whose name holds an
// escape sequence, so the file names in its pclntab, and the executable's path, carry one too.
//
// Before it panics it prints "CRASHER-READY {json}": the pid, and strconv.Quote of each hostile
// value, the oracle of what a debugger's text output must show for it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
)

// Evil is every hostile sequence at once.
const Evil = "osc0:\x1b]0;PWNED-TITLE\x07 osc52:\x1b]52;c;aGFja2Vk\x07 " +
	"osc8:\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ csi:\x1b[2J\x1b[1;1H " +
	"bel:\x07 nul:\x00 del:\x7f cr:\r tab:\t c1:\u009b31m\u0085\u009d rawc1:\x9b\x9d " +
	"rlo:\u202edesrever\u202c lri:\u2066x\u2069 ls:\u2028 " +
	"markup:[bold red]loud[/] [link=http://evil.example]x[/link] [@click=app.quit]q[/]"

// Request is a struct whose field values are hostile.
type Request struct {
	Method string
	Path   string
	Header map[string]string
	Body   []byte
	Err    error
}

var (
	// GlobalTitle is a hostile package-level string.
	GlobalTitle = "title:\x1b]0;GLOBAL-TITLE\x07 [bold]global[/bold]"
	// GlobalKeys has hostile map keys (and values).
	GlobalKeys = map[string]string{
		"\x1b]0;KEY-TITLE\x07":           "v1",
		"\u202ekey-rlo":                  "\x1b[2Jvalue",
		"[bold]key[/bold]":               "\x07bel",
		"\x1b]52;c;Y2xpcGJvYXJk\x07clip": "c1\u009b",
	}
	// GlobalRequest holds hostile field values.
	GlobalRequest = &Request{
		Method: "GET\x1b[31m",
		Path:   "/\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
		Header: map[string]string{"X-\x1b]0;HDR\x07": "\u202evalue"},
		Body:   []byte("body\x1b]0;BODY-TITLE\x07\x9b\x00end"),
		Err:    errors.New("err:\x1b]0;ERR-TITLE\x07"),
	}
)

// Label key and value of the waiting goroutine.
const (
	LabelKey   = "k\x1b]0;LABEL-TITLE\x07"
	LabelValue = "v\u202e\x1b]52;c;bGFiZWw=\x07[bold]"
)

var sink any

//go:noinline
func labeled(ready *sync.WaitGroup, block chan struct{}) {
	pprof.Do(context.Background(), pprof.Labels(LabelKey, LabelValue), func(ctx context.Context) {
		waitLabeled(ready, block)
	})
}

//go:noinline
func waitLabeled(ready *sync.WaitGroup, block chan struct{}) {
	ready.Done()
	<-block
}

// handle holds hostile locals and panics with the hostile message.
//
//go:noinline
func handle(req *Request, msg string) {
	local := "local:\x1b]0;LOCAL-TITLE\x07\u009b\u202e"
	keys := map[string]int{"\x1b[2J": 1, "\u0085nel": 2, "[red]k[/red]": 3}
	body := append([]byte(nil), req.Body...)
	copyReq := *req
	values := map[string]any{
		"evil":         strconv.Quote(Evil),
		"local":        strconv.Quote(local),
		"global_title": strconv.Quote(GlobalTitle),
		"label_key":    strconv.Quote(LabelKey),
		"label_value":  strconv.Quote(LabelValue),
		"method":       strconv.Quote(req.Method),
	}
	data, err := json.Marshal(map[string]any{"pid": os.Getpid(), "scenario": "panic", "values": values})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("CRASHER-READY "), append(data, '\n')...))
	sink = []any{local, keys, body, copyReq}
	panic(msg + fmt.Sprint(len(keys)))
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "panic" {
		fmt.Fprintln(os.Stderr, "usage: hostile panic")
		os.Exit(2)
	}
	var ready sync.WaitGroup
	block := make(chan struct{})
	ready.Add(1)
	go labeled(&ready, block)
	ready.Wait()
	handle(GlobalRequest, Evil)
}
