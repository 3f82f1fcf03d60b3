package main

import (
	"io"
	"strings"
	"testing"
)

func TestExpandRows(t *testing.T) {
	tests := []struct {
		in      string
		tls     bool
		want    string
		wantErr bool
	}{
		{in: "all", want: "stor,retr,connect,stor-idle,retr-idle,retr-n,stor-n,quit,login,mem"},
		{in: "ftps", want: "tls-stor,tls-retr,tls-connect"},
		{in: " retr , stor ", want: "retr,stor"},
		{in: "stor,ftps", tls: true, want: "stor"},
		{in: "nope", wantErr: true},
		{in: ",", wantErr: true},
	}
	for _, tt := range tests {
		got, err := expandRows(tt.in, tt.tls)
		if (err != nil) != tt.wantErr || strings.Join(got, ",") != tt.want {
			t.Errorf("expandRows(%q, %v) = %v, %v; want %s", tt.in, tt.tls, got, err, tt.want)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                                  // no -user
		{"-user", "u", "-size", "lots"},     // bad size
		{"-user", "u", "-idle", "0"},        // bad count
		{"-user", "u", "-rows", "sideways"}, // unknown row
		{"-user", "u", "extra"},             // stray argument
		{"-report"},                         // nothing to merge
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
