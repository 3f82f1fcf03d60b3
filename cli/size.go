package cli

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/ftpshare/ftpshare/ftp"
)

// sizeUnits are the suffixes parseSize knows: SI units are powers of
// 1000, IEC units powers of 1024. A unit without B means bytes too.
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"ti", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// parseSize reads a byte count such as "500", "64KB", "1.5MiB" or
// "10MB/s" (the "/s" is allowed for rates). Units are case-insensitive.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "/s")
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "+-eEnNiI_xXpP") {
		return 0, errors.New("want a size such as 500KB, 10MB or 1GiB")
	}
	n := v * mult
	if n >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return int64(math.Round(n)), nil
}

// parsePortRange reads "MIN-MAX".
func parsePortRange(s string) (ftp.PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return ftp.PortRange{}, errors.New("want a range MIN-MAX such as 50000-50100")
	}
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case err1 != nil || err2 != nil:
		return ftp.PortRange{}, errors.New("want a range MIN-MAX such as 50000-50100")
	case min < 1 || max > 65535:
		return ftp.PortRange{}, errors.New("ports go from 1 to 65535")
	case min > max:
		return ftp.PortRange{}, errors.New("MIN is above MAX")
	}
	return ftp.PortRange{Min: min, Max: max}, nil
}
