package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// treeMem is the memory of a process and all its descendants.
type treeMem struct {
	pssKiB int64 // proportional set size summed over the tree
	procs  int   // processes counted
}

// readTreeMem sums Pss from /proc/PID/smaps_rollup over pid and every
// descendant. PSS charges each shared page to its sharers in proportion,
// so a forking server with a process per session is neither flattered
// (as by RSS minus shared) nor double-counted (as by summing RSS).
func readTreeMem(pid int) (treeMem, error) {
	pids, err := processTree(pid)
	if err != nil {
		return treeMem{}, err
	}
	var m treeMem
	for _, p := range pids {
		kib, err := readPss(p)
		if err != nil {
			if p == pid {
				return treeMem{}, err
			}
			// A session process may exit between the walk and the read.
			continue
		}
		m.pssKiB += kib
		m.procs++
	}
	return m, nil
}

// processTree returns pid followed by all its descendants, found from the
// parent field of every /proc/*/stat.
func processTree(pid int) ([]int, error) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil, fmt.Errorf("server process %d: %w", pid, err)
	}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := make(map[int][]int)
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		ppid, err := parseStatPPID(b)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree, nil
}

// parseStatPPID reads the parent PID from /proc/PID/stat. The command name
// in parentheses may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatPPID(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	return strconv.Atoi(string(f[1]))
}

func readPss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, fmt.Errorf("read PSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("Pss:")) {
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 2 {
			break
		}
		return strconv.ParseInt(string(f[1]), 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read PSS of %d: %w", pid, err)
	}
	return 0, fmt.Errorf("no Pss line for process %d", pid)
}
