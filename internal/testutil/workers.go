package testutil

import "sync"

// Workers starts n goroutines that call f once per value sent on jobs;
// wait closes jobs and waits for them.
func Workers(n int, f func()) (jobs chan<- struct{}, wait func()) {
	ch := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range ch {
				f()
			}
		})
	}
	return ch, func() { close(ch); wg.Wait() }
}
