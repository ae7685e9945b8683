//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeTableAndTarget(t *testing.T) {
	walls := func(ds ...time.Duration) []sample {
		var ss []sample
		for _, d := range ds {
			ss = append(ss, sample{wall: d})
		}
		return ss
	}
	r := &results{serveDests: []string{destDistribution, destSkiff}, serve: map[string][]sample{
		destDistribution: walls(4*time.Second, 2*time.Second, 3*time.Second),
		destSkiff:        walls(5*time.Second, 4*time.Second, 4500*time.Millisecond),
	}}
	if tbl := r.serveTable(); !strings.Contains(tbl, "| skiff registry serve | 4.50 s | 5.00 s, 4.00 s, 4.50 s | 1.50× |") {
		t.Errorf("table:\n%s", tbl)
	}
	if tg := r.serveTarget(); !tg.known || !tg.pass || !strings.HasPrefix(tg.measured, "1.50×") {
		t.Errorf("target %+v, want 1.50×, passed", tg)
	}
	r.serve[destSkiff] = walls(5 * time.Second)
	if tg := r.serveTarget(); !tg.known || tg.pass {
		t.Errorf("target %+v, want 1.67×, failed", tg)
	}
	delete(r.serve, destSkiff)
	if tg := r.serveTarget(); tg.known {
		t.Errorf("target %+v without skiff's runs, want not measured", tg)
	}
}
