package zstd

import (
	"encoding/binary"
	"math/bits"
)

// XXH64 with seed 0, the content checksum of a frame (RFC 8878 section
// 3.1.1), as its specification describes it:
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md

const (
	prime1 uint64 = 0x9e3779b185ebca87
	prime2 uint64 = 0xc2b2ae3d27d4eb4f
	prime3 uint64 = 0x165667b19e3779f9
	prime4 uint64 = 0x85ebca77c2b2ae63
	prime5 uint64 = 0x27d4eb2f165667c5
)

// xxh64 hashes a stream written in pieces of any size.
type xxh64 struct {
	v     [4]uint64
	total uint64
	buf   [32]byte
	n     int // bytes in buf
}

func (x *xxh64) reset() {
	p1, p2 := prime1, prime2 // variables: the sums wrap around
	x.v = [4]uint64{p1 + p2, p2, 0, -p1}
	x.total, x.n = 0, 0
}

func round(acc, lane uint64) uint64 {
	return bits.RotateLeft64(acc+lane*prime2, 31) * prime1
}

func (x *xxh64) write(p []byte) {
	x.total += uint64(len(p))
	if x.n > 0 {
		k := copy(x.buf[x.n:], p)
		x.n += k
		p = p[k:]
		if x.n < 32 {
			return
		}
		x.stripes(x.buf[:])
		x.n = 0
	}
	if len(p) >= 32 {
		k := len(p) &^ 31
		x.stripes(p[:k])
		p = p[k:]
	}
	x.n = copy(x.buf[:], p)
}

// stripes consumes p, a multiple of 32 bytes long.
func (x *xxh64) stripes(p []byte) {
	v1, v2, v3, v4 := x.v[0], x.v[1], x.v[2], x.v[3]
	for ; len(p) >= 32; p = p[32:] {
		q := p[:32:32]
		v1 = round(v1, binary.LittleEndian.Uint64(q[0:]))
		v2 = round(v2, binary.LittleEndian.Uint64(q[8:]))
		v3 = round(v3, binary.LittleEndian.Uint64(q[16:]))
		v4 = round(v4, binary.LittleEndian.Uint64(q[24:]))
	}
	x.v = [4]uint64{v1, v2, v3, v4}
}

func merge(h, v uint64) uint64 {
	return (h^round(0, v))*prime1 + prime4
}

func (x *xxh64) sum64() uint64 {
	var h uint64
	if x.total >= 32 {
		v1, v2, v3, v4 := x.v[0], x.v[1], x.v[2], x.v[3]
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = merge(merge(merge(merge(h, v1), v2), v3), v4)
	} else {
		h = prime5
	}
	h += x.total
	p := x.buf[:x.n]
	for ; len(p) >= 8; p = p[8:] {
		h ^= round(0, binary.LittleEndian.Uint64(p))
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(p) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(p)) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		p = p[4:]
	}
	for _, b := range p {
		h ^= uint64(b) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}
