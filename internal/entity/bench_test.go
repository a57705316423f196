package entity_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/espfctl/espfctl/internal/entity"
)

// BenchmarkTrackerKeep is what the final-state check costs in memory: the
// tracker keeps every entity (three delivered events each) until the run
// ends. It reports the heap per entity.
func BenchmarkTrackerKeep(b *testing.B) {
	const n = 200_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tr := entity.NewTracker(true)
		for i := range n {
			k := entity.Key{Group: entity.Subscriber, ID: strconv.Itoa(1000000 + i)}
			for s, a := range []entity.Action{entity.Created, entity.Updated, entity.Deleted} {
				id := int64(3*i + s)
				tr.Emitted(k, a, id, a == entity.Deleted)
				tr.Delivered(k, a, id, 1)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entity")
		runtime.KeepAlive(tr)
	}
}
