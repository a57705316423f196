package runner

import (
	"math/rand/v2"
	"testing"
)

// The set answers like a map for dense runs (blocks that turn into
// bitmaps), sparse and negative i_events, and repeats.
func TestIDSet(t *testing.T) {
	var s idSet
	want := map[int64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	try := func(id int64) {
		if got := s.add(id); got == want[id] {
			t.Fatalf("add(%d) = %t, want %t", id, got, !want[id])
		}
		want[id] = true
	}
	for id := int64(1); id <= 200_000; id++ { // dense: several blocks past denseAt
		try(id)
	}
	for range 20_000 {
		try(rng.Int64N(1 << 40))       // sparse
		try(-rng.Int64N(1<<20) - 1)    // negative
		try(rng.Int64N(300_000))       // repeats and new ones near the dense run
		try(1<<62 + rng.Int64N(5_000)) // one block crossing denseAt in random order
	}
	if s.len() != int64(len(want)) || s.count() != s.len() {
		t.Fatalf("len %d, count %d, want %d", s.len(), s.count(), len(want))
	}
	for id := range want {
		if !s.has(id) {
			t.Fatalf("has(%d) = false after add", id)
		}
	}
	for range 100_000 {
		id := rng.Int64N(1<<41) - 1<<40
		if s.has(id) != want[id] {
			t.Fatalf("has(%d) = %t, want %t", id, s.has(id), want[id])
		}
	}
	var empty idSet
	if empty.has(0) || empty.len() != 0 {
		t.Fatal("an empty set has members")
	}
}

// 1,000,000 dense i_events cost about a bit each.
func TestIDSetDenseSize(t *testing.T) {
	var s idSet
	for id := int64(7615); id < 7615+1_000_000; id++ {
		s.add(id)
	}
	bitmaps := 0
	for _, b := range s.blocks {
		if b.bits != nil {
			bitmaps++
		}
	}
	if len(s.blocks) > 17 || bitmaps < len(s.blocks)-2 {
		t.Fatalf("%d blocks, %d bitmaps: want at most 17 blocks of 8 KB", len(s.blocks), bitmaps)
	}
}
