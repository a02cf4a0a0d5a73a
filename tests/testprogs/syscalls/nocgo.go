//go:build !cgo

package main

// cgoBlock is nil without cgo: no goroutine blocks in C.
var cgoBlock func()
