package main

// runDeadlock blocks every goroutine on channels and locks, with no network poller and no timers,
// so that the scheduler reports "all goroutines are asleep - deadlock!".
func runDeadlock(args []string) {
	startBackground(false)
	shutdown := make(chan struct{})
	waitParked()
	printReady("deadlock", map[string]any{})
	waitForShutdown(shutdown)
}

//go:noinline
func waitForShutdown(ch chan struct{}) {
	awaitClose(ch)
}

// awaitClose is inlined into waitForShutdown in optimized builds.
func awaitClose(ch chan struct{}) {
	<-ch
}
