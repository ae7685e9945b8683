//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

const ms = time.Millisecond

// fakeResults16 has the tables of issue 16: stderr, progress, the link and
// scale, with a looping regctl on the many-image pull.
func fakeResults16() *results {
	none := func(string, string) []string { return nil }
	all := map[string]argv{"skiff": none, "crane": none, "regctl": none}
	skiffOnly := map[string]argv{"skiff": none}
	res := &results{
		ops: []op{
			{key: "pull-tar", name: "pull", cmd: all, group: groupMain},
			{key: "stderr-null", name: "pull, stderr on /dev/null", cmd: all, group: groupStderr, stderr: stderrNull},
			{key: "progress-none", name: "skiff pull --progress none", cmd: skiffOnly, group: groupStderr},
			{key: "progress-plain", name: "skiff pull --progress plain", cmd: skiffOnly, group: groupStderr},
			{key: "progress-tty", name: "skiff pull --progress tty", cmd: skiffOnly, group: groupStderr},
			{key: "wan-tiny", name: "wan tiny", cmd: all, group: groupWAN},
			{key: "wan-append", name: "wan append", cmd: map[string]argv{"skiff": none, "crane": none}, group: groupWAN},
			{key: "scale-huge", name: "huge", cmd: all, group: groupScale},
			{key: "scale-layers", name: "layers", cmd: all, group: groupScale},
			{key: "scale-images", name: "images", cmd: all, group: groupScale, loop: map[string]bool{"regctl": true}},
		},
		tools: []string{"skiff", "crane", "regctl"},
		mode:  stderrTTY,
		cells: map[string]*cell{},
	}
	add := func(op, tool string, s sample) {
		c := res.cell(op, tool)
		c.samples = append(c.samples, s)
	}
	add("pull-tar", "skiff", sample{wall: 400 * ms, user: 200 * ms, sys: 100 * ms, rss: 9 * mib})
	add("pull-tar", "crane", sample{wall: 600 * ms, user: 500 * ms, sys: 100 * ms, rss: 14 * mib})
	add("pull-tar", "regctl", sample{wall: 500 * ms, user: 700 * ms, sys: 100 * ms, rss: 20 * mib})
	add("stderr-null", "skiff", sample{wall: 300 * ms, user: 150 * ms, sys: 100 * ms})
	add("stderr-null", "crane", sample{wall: 600 * ms, user: 500 * ms, sys: 100 * ms})
	add("stderr-null", "regctl", sample{wall: 500 * ms, user: 700 * ms, sys: 100 * ms})
	add("progress-none", "skiff", sample{wall: 1000 * ms, user: 300 * ms, sys: 100 * ms, rss: 9 * mib})
	add("progress-plain", "skiff", sample{wall: 1020 * ms, user: 302 * ms, sys: 102 * ms, rss: 9 * mib})
	add("progress-tty", "skiff", sample{wall: 1050 * ms, user: 300 * ms, sys: 100 * ms, rss: 9 * mib})
	add("wan-tiny", "skiff", sample{wall: 200 * ms, rtts: 10, reqs: 33})
	add("wan-tiny", "crane", sample{wall: 1000 * ms, rtts: 32, reqs: 33})
	add("wan-tiny", "regctl", sample{wall: 500 * ms, rtts: 30, reqs: 32})
	add("wan-append", "skiff", sample{wall: 300 * ms, rtts: 7, reqs: 7})
	add("wan-append", "crane", sample{wall: 500 * ms, rtts: 14, reqs: 19})
	for _, t := range []string{"skiff", "crane", "regctl"} {
		add("scale-huge", t, sample{wall: time.Second, rss: 15 * mib})
		add("scale-layers", t, sample{wall: time.Second, rss: 20 * mib})
	}
	add("scale-images", "skiff", sample{wall: 600 * ms, rss: 10 * mib})
	add("scale-images", "crane", sample{wall: 900 * ms, rss: 16 * mib})
	add("scale-images", "regctl", sample{wall: 300 * ms, rss: 12 * mib})
	return res
}

func wantLines(t *testing.T, what, table string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(table, l) {
			t.Errorf("%s lacks %q:\n%s", what, l, table)
		}
	}
}

func TestStderrTable(t *testing.T) {
	res := fakeResults16()
	wantLines(t, "stderr table", res.stderrTable(),
		"| stderr | skiff wall | skiff CPU | crane wall | crane CPU | regctl wall | regctl CPU | skiff ÷ faster peer |",
		// The terminal's row is the main table's pull: stderr went there by default.
		"| a terminal (pty) | 0.400 s | 0.300 s | 0.600 s | 0.600 s | 0.500 s | 0.800 s | 0.80 (regctl) |",
		"| /dev/null | 0.300 s | 0.250 s | 0.600 s | 0.600 s | 0.500 s | 0.800 s | 0.60 (regctl) |")
	if strings.Contains(res.stderrTable(), "a pipe") {
		t.Errorf("the stderr table shows a pipe that was never measured:\n%s", res.stderrTable())
	}
	res.mode = stderrNull // then no operation ran with stderr on a terminal
	if strings.Contains(res.stderrTable(), "a terminal") {
		t.Errorf("the stderr table shows the default mode's pull as the terminal's:\n%s", res.stderrTable())
	}
}

func TestProgressTable(t *testing.T) {
	wantLines(t, "progress table", fakeResults16().progressTable(),
		"| `--progress none` | 1.000 s | 0.400 s (0.300 + 0.100) | 9.0 MiB | – | – |",
		"| `--progress plain` | 1.020 s | 0.404 s (0.302 + 0.102) | 9.0 MiB | +2.0% | +1.0% |",
		"| `--progress tty` | 1.050 s | 0.400 s (0.300 + 0.100) | 9.0 MiB | +5.0% | +0.0% |")
}

// TestProgressCostPairsRounds: the cost of progress is the median of the
// ratios within rounds, not the ratio of the medians, which a round that
// drifted as a whole would move.
func TestProgressCostPairsRounds(t *testing.T) {
	res := fakeResults16()
	for i, w := range []time.Duration{2000, 2100} {
		res.cells["progress-none/skiff"].samples = append(res.cells["progress-none/skiff"].samples,
			sample{wall: w * time.Millisecond, user: 300 * time.Millisecond, sys: 100 * time.Millisecond})
		pw := []time.Duration{1020, 2142}[i]
		res.cells["progress-plain/skiff"].samples = append(res.cells["progress-plain/skiff"].samples,
			sample{wall: pw * time.Millisecond, user: 302 * time.Millisecond, sys: 102 * time.Millisecond})
	}
	// Rounds: 1000 → 1020 (+2%), 2000 → 1020 (−49%), 2100 → 2142 (+2%);
	// the medians alone, 2000 and 1020, would say −49%.
	wall, cpu, ok := res.progressCost("plain")
	if !ok || fmtPercent(wall) != "+2.0%" || fmtPercent(cpu) != "+1.0%" {
		t.Fatalf("progressCost(plain) = %s, %s, %v; want +2.0%%, +1.0%%", fmtPercent(wall), fmtPercent(cpu), ok)
	}
	res.cells["progress-plain/skiff"].err = errors.New("failed")
	if _, _, ok := res.progressCost("plain"); ok {
		t.Fatal("progressCost reported a cost for a pull that failed")
	}
}

func TestWANTable(t *testing.T) {
	wantLines(t, "wide-area table", fakeResults16().wanTable(),
		"| operation | skiff | crane | regctl | skiff ÷ fastest peer |",
		"| wan tiny | 0.200 s · 10 RT · 33 req | 1.000 s · 32 RT · 33 req | 0.500 s · 30 RT · 32 req | 0.40 (regctl) |",
		"| wan append | 0.300 s · 7 RT · 7 req | 0.500 s · 14 RT · 19 req | n/a | 0.60 (crane) |")
}

func TestScaleTableLeavesLoopsOutOfTheRatios(t *testing.T) {
	wantLines(t, "scale table", fakeResults16().groupTable(groupScale),
		"| images | 0.600 s | 0.900 s | 0.300 s † | 0.67 (crane) | 10.0 MiB | 16.0 MiB | 12.0 MiB † | 0.62 (crane) |")
}

func TestTargets16(t *testing.T) {
	ts := fakeResults16().targets()
	for _, c := range []struct {
		contains string
		known    bool
		pass     bool
		measured string
	}{
		{"issue 16: pull (stderr on a terminal): wall ≤ 0.75× the fastest peer", true, false, "0.80× regctl"},
		{"issue 16: wide-area wan tiny: wall ≤ 0.5× the fastest peer", true, true, "0.40× regctl"},
		{"issue 16: wide-area wan append: wall ≤ 0.5× crane", true, false, "0.60× crane"},
		{"--progress plain: wall and CPU within 3%", true, true, "wall +2.0%, CPU +1.0%"},
		{"--progress tty: wall and CPU within 3%", true, false, "wall +5.0%, CPU +0.0%"},
		{"issue 16: huge: peak RSS", true, true, "15.0 MiB"},
		{"issue 16: layers: peak RSS", true, false, "20.0 MiB"},
		{"issue 16: images: peak RSS", true, true, "10.0 MiB"},
		{"issue 9: push", false, false, ""},
	} {
		found := false
		for _, tg := range ts {
			if strings.Contains(tg.goal, c.contains) {
				found = true
				if tg.known != c.known || tg.pass != c.pass || tg.measured != c.measured {
					t.Errorf("%s: known %v pass %v %q, want %v %v %q", tg.goal, tg.known, tg.pass, tg.measured, c.known, c.pass, c.measured)
				}
			}
		}
		if !found {
			t.Errorf("no target says %q", c.contains)
		}
	}
}

// TestCappedTableAndTargets: the capped link's cells show wall, peak RSS
// and bytes fetched over the image's, for the pulls and the copy, and
// issue 29's targets read them.
func TestCappedTableAndTargets(t *testing.T) {
	none := func(string, string) []string { return nil }
	all := map[string]argv{"skiff": none, "crane": none, "regctl": none}
	res := &results{tools: []string{"skiff", "crane", "regctl"}, cells: map[string]*cell{}, ops: []op{
		{key: "cap-one", name: "pull one", cmd: all, group: groupCapped, image: 100 * mib},
		{key: "cap-copy", name: "copy one", cmd: all, group: groupCapped, image: 100 * mib},
		{key: "cap-huge", name: "pull huge", cmd: all, group: groupCapped, image: 4000 * mib},
	}}
	add := func(op, tool string, s sample) { c := res.cell(op, tool); c.samples = append(c.samples, s) }
	add("cap-one", "skiff", sample{wall: 1500 * ms, rss: 12 * mib, fetched: 101 * mib})
	add("cap-one", "crane", sample{wall: 5000 * ms, rss: 14 * mib, fetched: 100 * mib})
	add("cap-one", "regctl", sample{wall: 4000 * ms, rss: 20 * mib, fetched: 100 * mib})
	add("cap-copy", "skiff", sample{wall: 2600 * ms, rss: 20 * mib, fetched: 102 * mib})
	add("cap-copy", "crane", sample{wall: 5000 * ms, rss: 14 * mib, fetched: 100 * mib})
	add("cap-copy", "regctl", sample{wall: 6000 * ms, rss: 16 * mib, fetched: 100 * mib})
	add("cap-huge", "skiff", sample{wall: 40 * time.Second, rss: 17 * mib, fetched: 4000 * mib})
	wantLines(t, "capped table", res.cappedTable(),
		"| operation | skiff | crane | regctl | skiff ÷ fastest peer | skiff ÷ leanest peer |",
		"| pull one | 1.500 s · 12.0 MiB · 1.01× | 5.000 s · 14.0 MiB · 1.00× | 4.000 s · 20.0 MiB · 1.00× | 0.38 (regctl) | 0.86 (crane) |",
		"| copy one | 2.600 s · 20.0 MiB · 1.02× | 5.000 s · 14.0 MiB · 1.00× | 6.000 s · 16.0 MiB · 1.00× | 0.52 (crane) | 1.43 (crane) |",
		"| pull huge | 40.000 s · 17.0 MiB · 1.00× | – | – | – | – |")
	got := map[string]target{}
	for _, tg := range res.cappedTargets() {
		got[tg.goal] = tg
	}
	for goal, want := range map[string]target{
		"issue 29: pull one over the capped link: wall ≤ 0.4× the fastest peer":    {measured: "0.38× regctl", pass: true, known: true},
		"issue 29: pull one over the capped link: bytes fetched ≤ 1.05× the image": {measured: "1.010×", pass: true, known: true},
		"issue 29: copy one: wall ≤ 0.5× the fastest peer":                         {measured: "0.52× crane", pass: false, known: true},
		"issue 29: pull huge over the capped link: peak RSS ≤ 16.0 MiB":            {measured: "17.0 MiB", pass: false, known: true},
	} {
		want.goal = goal
		if got[goal] != want {
			t.Errorf("target %q: %+v, want %+v (all: %+v)", goal, got[goal], want, got)
		}
	}
}

// fakeFixture has every image, so that every operation exists.
func fakeFixture() *fixture {
	im := func(ref string) *seeded {
		name, _, _ := strings.Cut(ref, ":1")
		cfg := manifest.Descriptor{Size: 10}
		return &seeded{ref: ref, name: name, size: 1000, blobs: []manifest.Descriptor{cfg, {Size: 600}, {Size: 400}}}
	}
	a, b := "127.0.0.1:5001", "127.0.0.1:5002"
	return &fixture{a: a, b: b, aw: "127.0.0.1:6001", bw: "127.0.0.1:6002", ac: "127.0.0.1:6003", sc: scales["small"], scaleRuns: 2,
		big: im(a + "/bench/big:1"), tiny: im(a + "/bench/tiny:1"), index: im(a + "/bench/multi:1"),
		huge: im(a + "/bench/huge:1"), wide: im(a + "/bench/wide:1"), one: im(a + "/bench/one:1"), oneHuge: im(a + "/bench/onehuge:1"),
		many: []*seeded{im(a + "/bench/many0:1"), im(a + "/bench/many1:1")}, tarball: "/tmp/w/big.tar"}
}

func TestOpGroupsNameEveryOperation(t *testing.T) {
	var want []string
	for _, g := range opGroups {
		if g.name != groupResume && g.name != groupStall && g.name != groupServe { // measured apart, not timed
			want = append(want, g.keys...)
		}
	}
	var got []string
	for _, o := range fakeFixture().ops() {
		got = append(got, o.key)
		if o.group == groupScale && o.maxRuns != 2 {
			t.Errorf("%s runs in %d runs, want -scale-runs", o.key, o.maxRuns)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the fixture's operations are\n%v\nbut the groups name\n%v", got, want)
	}
}

func TestParseOps(t *testing.T) {
	got, err := parseOps("main, wan-tiny")
	if err != nil || len(got) != 9 || !got["pull-tar"] || !got["wan-tiny"] || got["wan-append"] {
		t.Errorf("parseOps(main, wan-tiny) = %v, %v", got, err)
	}
	if all, err := parseOps("all"); err != nil || len(all) != 31 || !all["resume"] || !all["sync-again"] || !all["stall"] || !all["serve-sync"] || !all["cap-huge"] || !all["cap-copy"] {
		t.Errorf("parseOps(all) = %d operations, %v; want 31 with resume, sync, stall, serve-sync and capped", len(all), err)
	}
	if _, err := parseOps("main,bogus"); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("parseOps(main,bogus) = %v, want an error naming it", err)
	}
}

func TestCommandLines(t *testing.T) {
	f := fakeFixture()
	h := &harness{fix: f}
	ops := f.ops()
	byKey := map[string]op{}
	for _, o := range ops {
		byKey[o.key] = o
	}
	for _, tc := range []struct{ key, tool, want string }{
		{"wan-platform", "skopeo", "skopeo --insecure-policy copy --src-tls-verify=false --dest-tls-verify=false --override-os linux --override-arch arm64 docker://WA/bench/multi:1 docker-archive:OUT/image.tar:WA/bench/multi:1"},
		{"wan-platform", "regctl", "regctl --host reg=A,tls=disabled --host reg=B,tls=disabled --host reg=WA,tls=disabled --host reg=WB,tls=disabled --host reg=CA,tls=disabled image export --platform linux/arm64 WA/bench/multi:1 OUT/image.tar"},
		{"cap-one", "skiff", "skiff pull CA/bench/one:1 OUT/image.tar"},
		{"cap-copy", "skiff", "skiff copy CA/bench/one:1 B/capcopy/skiff-N:1"},
		{"copy-one-stream", "skiff", "skiff copy --range-min 0 A/bench/big:1 B/copy1s/skiff-N:1"},
		{"cap-copy", "crane", "crane copy --insecure CA/bench/one:1 B/capcopy/crane-N:1"},
		{"cap-copy", "skopeo", "skopeo --insecure-policy copy --src-tls-verify=false --dest-tls-verify=false --multi-arch all docker://CA/bench/one:1 docker://B/capcopy/skopeo-N:1"},
		{"wan-copy-index", "crane", "crane copy --insecure WA/bench/multi:1 WB/wancopy/crane-N:1"},
		{"wan-append", "skiff", "skiff append -f OUT/layer.tar WA/bench/big:1 WA/bench/big:skiff-N"},
		{"wan-index-create", "skiff", "skiff index create WA/bench/multi:c-skiff-N WA/bench/multi:p0 WA/bench/multi:p1 WA/bench/multi:p2"},
		{"wan-index-create", "crane", "crane index append --insecure -t WA/bench/multi:c-crane-N -m WA/bench/multi:p0 -m WA/bench/multi:p1 -m WA/bench/multi:p2"},
		{"wan-index-add", "regctl", "regctl --host reg=A,tls=disabled --host reg=B,tls=disabled --host reg=WA,tls=disabled --host reg=WB,tls=disabled --host reg=CA,tls=disabled index add WA/bench/multi:a-regctl-N --ref WA/bench/multi:p2"},
		{"scale-images", "skiff", "skiff pull -o OUT/images.tar A/bench/many0:1 A/bench/many1:1"},
		{"scale-images", "crane", "crane pull --insecure A/bench/many0:1 A/bench/many1:1 OUT/images.tar"},
		{"scale-images", "skopeo", "# one invocation per image, in sequence; the first:\nskopeo --insecure-policy copy --src-tls-verify=false --dest-tls-verify=false docker://A/bench/many0:1 docker-archive:OUT/image0.tar:A/bench/many0:1"},
		{"progress-plain", "skiff", "skiff pull --progress plain A/bench/big:1 OUT/image.tar"},
	} {
		o := byKey[tc.key]
		if got := h.commandLine(o, tc.tool, o.cmd[tc.tool]("OUT", tc.tool+"-N")); got != tc.want {
			t.Errorf("%s, %s:\n got %s\nwant %s", tc.key, tc.tool, got, tc.want)
		}
	}
}

func TestLoopScriptRunsEveryInvocation(t *testing.T) {
	got := loopScript([][]string{{"image", "export", "a b"}, {"image", "export", "c"}})
	want := `"$0" image export 'a b' && "$0" image export c`
	if got != want {
		t.Errorf("loopScript = %s, want %s", got, want)
	}
}

func TestRotateProgress(t *testing.T) {
	ops := []op{{key: "pull-tar"}, {key: "progress-none"}, {key: "progress-plain"}, {key: "progress-tty"}, {key: "wan-tiny"}}
	keys := func(ops []op) string {
		var k []string
		for _, o := range ops {
			k = append(k, o.key)
		}
		return strings.Join(k, ",")
	}
	for r, want := range []string{
		"pull-tar,progress-none,progress-plain,progress-tty,wan-tiny",
		"pull-tar,progress-plain,progress-tty,progress-none,wan-tiny",
		"pull-tar,progress-tty,progress-none,progress-plain,wan-tiny",
		"pull-tar,progress-none,progress-plain,progress-tty,wan-tiny",
	} {
		if got := keys(rotateProgress(ops, r)); got != want {
			t.Errorf("run %d: %s, want %s", r, got, want)
		}
	}
	if keys(ops) != "pull-tar,progress-none,progress-plain,progress-tty,wan-tiny" {
		t.Errorf("rotateProgress changed its argument")
	}
}

func TestResumeTable(t *testing.T) {
	r := &results{tools: []string{"skiff", "crane"}, resumeSize: 400 << 20, resume: map[string]resumeSample{
		"skiff": {first: 200 << 20, second: 201 << 20},
		"crane": {first: 210 << 20, second: 400 << 20},
	}}
	got := r.resumeTable()
	for _, want := range []string{"| skiff | 200.0 MiB | 201.0 MiB | 1.0 MiB | 0.50 |", "| crane | 210.0 MiB | 400.0 MiB | 210.0 MiB | 1.00 |"} {
		if !strings.Contains(got, want) {
			t.Errorf("resume table lacks %q:\n%s", want, got)
		}
	}
}

func TestStallTable(t *testing.T) {
	r := &results{tools: []string{"skiff", "crane", "regctl"}, stall: map[string]stallSample{
		"skiff":  {wall: 31 * time.Second, stalled: true},
		"crane":  {wall: stallLimit, stalled: true, hung: true},
		"regctl": {wall: time.Second},
	}}
	got := r.stallTable()
	for _, want := range []string{"| skiff | completed | 31.000 s |", "| crane | still waiting after 1m30s: killed | — |", "| regctl | the link never stalled"} {
		if !strings.Contains(got, want) {
			t.Errorf("stall table lacks %q:\n%s", want, got)
		}
	}
}

func TestKeptSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	doc := "# old\n<!-- begin: a -->\nA\n<!-- end: a -->\nlost\n<!-- begin: b c -->\nB\n<!-- end: b c -->\n<!-- begin: open -->\nno end"
	os.WriteFile(path, []byte(doc), 0o644)
	want := "\n<!-- begin: a -->\nA\n<!-- end: a -->\n\n<!-- begin: b c -->\nB\n<!-- end: b c -->\n"
	if got := keptSections(path); got != want {
		t.Fatalf("kept %q, want %q", got, want)
	}
}

// TestWANIndexCopyTargets: the index copy's round trips and wall are
// checked against issue 29, and the wall's measure says where the links'
// own copy limit stands against the same peer.
func TestWANIndexCopyTargets(t *testing.T) {
	res := fakeResults16()
	res.ops = append(res.ops, op{key: "wan-copy-index", name: "copy index", cmd: map[string]argv{"skiff": nil, "crane": nil, "regctl": nil}, group: groupWAN})
	for tool, s := range map[string]sample{"skiff": {wall: 2500 * ms, rtts: 16}, "crane": {wall: 2800 * ms, rtts: 22}, "regctl": {wall: 2500 * ms, rtts: 26}} {
		c := res.cell("wan-copy-index", tool)
		c.samples = append(c.samples, s)
	}
	res.wanRawCopy = []time.Duration{2250 * ms, 2200 * ms, 2300 * ms}
	want := map[string]target{
		"issue 29: wide-area copy index: ≤ 20 sequential round trips":  {measured: "16", pass: true, known: true},
		"issue 29: wide-area copy index: wall ≤ 0.8× the fastest peer": {measured: "1.00× regctl (the links' copy limit: 0.90× regctl)", known: true},
	}
	for _, tg := range res.targets() {
		if w, ok := want[tg.goal]; ok {
			if tg.measured != w.measured || tg.pass != w.pass || tg.known != w.known {
				t.Errorf("%s: %q pass %v known %v, want %q %v %v", tg.goal, tg.measured, tg.pass, tg.known, w.measured, w.pass, w.known)
			}
			delete(want, tg.goal)
		}
	}
	for g := range want {
		t.Errorf("no target %q", g)
	}
	wantLines(t, "wide-area table", res.wanTable(), "| raw copy of the index's blobs through the links, each GET streamed into a PUT, all at once, no hashing (the copy limit) | 2.250 s |  |  |  |")
}
