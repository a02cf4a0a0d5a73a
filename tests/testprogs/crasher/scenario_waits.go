package main

import (
	"fmt"
	"strconv"
)

func runWaits(args []string) {
	n := 50
	if len(args) > 0 {
		v, err := strconv.Atoi(args[0])
		if err != nil || v < 0 {
			panic(fmt.Sprintf("waits: bad count %q", args[0]))
		}
		n = v
	}
	startBackground(true)
	startManyWaiters(n)
}

//go:noinline
func startManyWaiters(n int) {
	startWaiters(n, true)
	waitParked()
	printReady("waits", map[string]any{"count": n})
	fail("waits")
}

// fail is inlined into its callers in optimized builds.
func fail(msg string) {
	panic(msg)
}
