//go:build cgo

package main

/*
#include <unistd.h>

static void block_in_c(void) {
	for (;;) {
		pause();
	}
}
*/
import "C"

// cgoBlock blocks its goroutine in a C call for good.
var cgoBlock = func() { C.block_in_c() }
