package runner

import (
	"math/bits"
	"slices"
)

// idSet is a set of i_events that costs about a bit per event when the
// i_events are dense (a generated run numbers them from first_event on):
// 1,000,000 events take 128 KB where a map takes tens of MB. The i_events
// are split into blocks of 65,536; a block holds a sorted list of its
// low 16 bits while it has at most denseAt members (2 bytes each, for
// sparse i_events such as a replayed journal's) and a bitmap of 8 KB past
// that. It is not safe for concurrent use.
type idSet struct {
	blocks map[int64]*idBlock
	n      int64
	// the last block used: consecutive i_events fall in the same one
	lastKey int64
	last    *idBlock
}

type idBlock struct {
	list []uint16         // sorted, while bits is nil
	bits *[1 << 10]uint64 // 65,536 bits
}

// denseAt is the size past which a block's list becomes a bitmap: at
// 4,096 members the list takes as much as the bitmap.
const denseAt = 4096

func split(id int64) (int64, uint16) { return id >> 16, uint16(id) }

func (s *idSet) block(key int64, create bool) *idBlock {
	if s.last != nil && s.lastKey == key {
		return s.last
	}
	b := s.blocks[key]
	if b == nil {
		if !create {
			return nil
		}
		if s.blocks == nil {
			s.blocks = map[int64]*idBlock{}
		}
		b = &idBlock{}
		s.blocks[key] = b
	}
	s.lastKey, s.last = key, b
	return b
}

// add adds id and reports whether it was new.
func (s *idSet) add(id int64) bool {
	key, low := split(id)
	b := s.block(key, true)
	if b.bits != nil {
		w, m := &b.bits[low>>6], uint64(1)<<(low&63)
		if *w&m != 0 {
			return false
		}
		*w |= m
		s.n++
		return true
	}
	i, found := slices.BinarySearch(b.list, low)
	if found {
		return false
	}
	s.n++
	if len(b.list) < denseAt {
		b.list = slices.Insert(b.list, i, low)
		return true
	}
	b.bits = new([1 << 10]uint64)
	for _, v := range b.list {
		b.bits[v>>6] |= 1 << (v & 63)
	}
	b.list = nil
	b.bits[low>>6] |= 1 << (low & 63)
	return true
}

// has reports whether id is in the set.
func (s *idSet) has(id int64) bool {
	key, low := split(id)
	b := s.block(key, false)
	if b == nil {
		return false
	}
	if b.bits != nil {
		return b.bits[low>>6]&(1<<(low&63)) != 0
	}
	_, found := slices.BinarySearch(b.list, low)
	return found
}

// len is the number of i_events in the set.
func (s *idSet) len() int64 { return s.n }

// count recounts the members (for tests: it must equal len).
func (s *idSet) count() int64 {
	var n int64
	for _, b := range s.blocks {
		if b.bits == nil {
			n += int64(len(b.list))
			continue
		}
		for _, w := range b.bits {
			n += int64(bits.OnesCount64(w))
		}
	}
	return n
}
