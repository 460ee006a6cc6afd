// SPDX-License-Identifier: MIT

// goapp: nested calls across many goroutines whose stacks grow (the runtime copies them), with
// GOMAXPROCS >= 2 so goroutines move between threads. Usage: goapp SECONDS [GOROUTINES].
// Prints "ok calls=N sum=S" where S is checked against the expected value per call.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

//go:noinline
func leaf(x int) int {
	var pad [64]int // a frame big enough that deep recursion grows the stack
	pad[x%64] = x
	if x%97 == 0 {
		runtime.Gosched()
	}
	return pad[x%64] + 1
}

//go:noinline
func grow(depth, x int) int {
	var pad [128]int
	pad[depth%128] = x
	if depth == 0 {
		return leaf(x) + pad[0] - pad[0]
	}
	return grow(depth-1, x) + pad[depth%128] - x
}

//go:noinline
func work(x int) int {
	// each call starts on a small stack or a reused one; 40 levels of 1 KiB frames grow it
	return grow(40, x) + leaf(x+1)
}

func main() {
	secs, _ := strconv.Atoi(os.Args[1])
	workers := 64
	if len(os.Args) > 2 {
		workers, _ = strconv.Atoi(os.Args[2])
	}
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var calls, bad int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				x := w*1000 + i%1000
				if work(x) != (x+1)+(x+2) {
					atomic.AddInt64(&bad, 1)
				}
				atomic.AddInt64(&calls, 1)
				if i%8 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	if bad != 0 {
		fmt.Printf("BAD results=%d\n", bad)
		os.Exit(1)
	}
	fmt.Printf("ok calls=%d\n", calls)
}
