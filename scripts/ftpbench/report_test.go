package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{ms(5), 50, 5 * time.Millisecond},
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{nil, 50, 0},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

func TestParseStatPPID(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "1234 (vsftpd) S 77 1234 1234 0 -1", want: 77},
		{in: "1234 (a) b) (c) S 9 1 1", want: 9},
		{in: "1234 (x)", wantErr: true},
		{in: "garbage", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseStatPPID([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStatPPID(%q) = %d %v, want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestReport(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	round := func(server string, stor, login float64) output {
		return output{Server: server, Rows: []result{
			{ID: "retr", Name: "RETR", Unit: "MB/s", Better: "higher", Value: v(stor)},
			{ID: "login-p99", Name: "login p99", Unit: "ms", Better: "lower", Value: v(login)},
		}}
	}
	outs := []output{
		round("peer", 100, 2), round("peer", 300, 4), round("peer", 200, 3),
		round("ftpshare", 400, 1), round("ftpshare", 500, 1),
		{Server: "broken", Rows: []result{{ID: "retr", Name: "RETR", Unit: "MB/s", Better: "higher", Errors: 1, Note: "boom"}}},
		// Short of the row's conditions: in the table with a footnote,
		// not in the chart.
		{Server: "broken", Rows: []result{{ID: "login-p99", Name: "login p99", Unit: "ms", Better: "lower", Value: v(0.5), Incomplete: true, Note: "few"}}},
	}
	tb := mergeOutputs(outs, []string{"ftpshare"})
	if got := strings.Join(tb.servers, ","); got != "ftpshare,peer,broken" {
		t.Errorf("servers = %s", got)
	}
	if m, _ := tb.median("peer", "retr"); m != 200 {
		t.Errorf("median peer retr = %v, want 200", m)
	}
	if m, _ := tb.median("ftpshare", "retr"); m != 450 {
		t.Errorf("median ftpshare retr = %v, want 450", m)
	}
	tb.addCeilingRow(900)
	var md bytes.Buffer
	tb.writeMarkdown(&md, "ftpshare")
	for _, want := range []string{
		"| RETR | MB/s | 450 | 200 | failed | 2.25× (vs peer) |",
		"| RETR as % of loopback ceiling (900 MB/s) | % | 50.0 | 22.2 |  | 2.25× (vs peer) |",
		"| login p99 | ms | 1.00 | 3.00 | 0.500 † | 3.00× (vs peer) |",
		"broken, login p99: in 1 of 1 rounds: few",
		"broken, RETR: 1 failed, in 1 of 1 rounds: boom",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var chart bytes.Buffer
	tb.writeChartData(&chart)
	want := "\"row\" \"ftpshare\" \"peer\" \"broken\"\n\"RETR (MB/s)\" 1.0000 0.4444 ?\n\"login p99 (ms)\" 1.0000 0.3333 ?\n"
	if chart.String() != want {
		t.Errorf("chart data:\n%s\nwant:\n%s", chart.String(), want)
	}
}
